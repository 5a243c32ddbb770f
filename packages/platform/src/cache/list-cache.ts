import type { Cache } from "./cache";
import type { Codec } from "./codec";
import { generationKey, listFlightPrefix, queryHash } from "./key-layout";

/** Cached lists (query results) under a generation per namespace. */
export class ListCache<T> {
  constructor(
    private readonly cache: Cache,
    readonly name: string,
    readonly ttlSeconds: number,
    private readonly codec: Codec<T>,
    private readonly keyPrefix = "",
  ) {}

  /** `query` must identify the request completely (normalized: equal requests, equal strings). */
  getOrLoad(logicalNamespace: string, query: string, loader: () => Promise<T>): Promise<T> {
    const namespace = this.keyPrefix + logicalNamespace;
    const flightKey = `${listFlightPrefix(namespace)}${query}`;
    return this.cache.singleFlight(flightKey, this.name, async () => {
      const generation = await this.cache.generation(this.name, namespace, this.generationTtl());
      if (generation === undefined) return { value: await loader(), result: "error" as const };
      const key = `${namespace}:${generation}:${queryHash(query)}`;
      return this.cache.readThrough(this.name, key, this.ttlSeconds, this.codec, loader);
    }) as Promise<T>;
  }

  /** Drops every list of these namespaces (after a committed write). Never throws. */
  invalidateAll(...namespaces: string[]): Promise<void> {
    return this.cache.invalidate(
      this.name,
      [...new Set(namespaces)].map((ns) => ({
        key: generationKey(this.keyPrefix + ns),
        kind: "generation" as const,
        ttlSeconds: this.generationTtl(),
      })),
    );
  }

  /** Outlives the entries under it; should it expire anyway, a new token only costs misses. */
  private generationTtl(): number {
    return this.ttlSeconds * 2;
  }
}
