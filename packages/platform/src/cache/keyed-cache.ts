import type { Cache } from "./cache";
import type { Codec } from "./codec";

/** A cache of single keys (`slot:{id}`), addressed by id. */
export class KeyedCache<T> {
  constructor(
    private readonly cache: Cache,
    readonly name: string,
    readonly ttlSeconds: number,
    /** The Redis key of an id, key prefix included. */
    readonly keyOf: (id: string) => string,
    private readonly codec: Codec<T>,
  ) {}

  /** The cached value, or the loader's (stored unless undefined: "not found" is not cached). */
  getOrLoad(id: string, loader: () => Promise<T | undefined>): Promise<T | undefined> {
    const key = this.keyOf(id);
    return this.cache.singleFlight(key, this.name, () => this.cache.readThrough(this.name, key, this.ttlSeconds, this.codec, loader));
  }

  /** Many ids at once; the loader gets the misses and answers with what it found. */
  getMany(ids: readonly string[], loader: (ids: string[]) => Promise<Map<string, T>>): Promise<Map<string, T>> {
    return this.cache.readManyThrough({ cache: this.name, keyOf: this.keyOf, ttlSeconds: this.ttlSeconds, codec: this.codec, loader }, ids);
  }

  /** After a committed write: readers load afresh. Never throws. */
  invalidate(...ids: string[]): Promise<void> {
    return this.cache.invalidate(
      this.name,
      [...new Set(ids)].map((id) => ({ key: this.keyOf(id), kind: "tombstone" as const, ttlSeconds: this.ttlSeconds })),
    );
  }

  /** Stores values whose keys are empty (warming); never overwrites a value or a tombstone. */
  prime(entries: readonly (readonly [string, T])[]): Promise<number> {
    return this.cache.fillMany(
      this.name,
      entries.map(([id, value]) => ({ key: this.keyOf(id), expected: "", value: this.codec.encode(value) })),
      this.ttlSeconds,
    );
  }
}
