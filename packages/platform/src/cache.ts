import { createHash, randomBytes } from "node:crypto";
import type { ChainableCommander, Redis } from "ioredis";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { env, redisConfigSchema } from "./config";
import type { Lifecycle } from "./lifecycle";
import type { Logger } from "./logger";
import { connectRedis } from "./redis";

/**
 * Cache-aside over Redis, shared by every service. Redis is an accelerator here, never a source
 * of truth: every read has a loader that answers from the database, and any Redis failure falls
 * back to it. Key layout and TTLs follow section 5.2 of the design document.
 *
 * Invalidation writes a tombstone instead of deleting the key, and a miss fills the key only if
 * it still holds what the reader saw before loading (compare-and-set in Lua). Without that, a
 * reader that loaded the old row just before a write commits could store it just after the
 * write's invalidation, and the stale value would stay for a whole TTL.
 *
 * List caches use a generation key per namespace: entries live under the current generation,
 * and a write moves the generation on, so "every list of this namespace" is dropped with one
 * command, without SCAN. A generation is a fresh random token (not a counter), so a generation
 * key that expires or is evicted can never bring old entries back.
 *
 * Concurrent misses of one key in one process share one load (single-flight). After a Redis
 * error or timeout, Redis is skipped for a cool-down (reads go straight to the loader, one
 * warning per outage); invalidations it could not take are kept and replayed before reads use
 * Redis again, so an outage does not leave stale entries behind either. Failed loads and "not
 * found" are never cached.
 */

/** How values are stored in Redis. An encoding must never start with the tombstone prefix. */
export interface Codec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/** JSON where Dates survive the round trip (as `{"$date": iso}`, so no string is ever mistaken for one). */
export function jsonCodec<T>(): Codec<T> {
  return {
    encode: (value) =>
      JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
        // `this[key]` is the raw value; `v` is Date#toJSON's string by now.
        const raw = this[key];
        return raw instanceof Date ? { $date: raw.toISOString() } : v;
      }),
    decode: (text) =>
      JSON.parse(text, (_key, v: unknown) => {
        if (v !== null && typeof v === "object" && !Array.isArray(v)) {
          const keys = Object.keys(v);
          const date = (v as { $date?: unknown }).$date;
          if (keys.length === 1 && typeof date === "string") return new Date(date);
        }
        return v;
      }) as T,
  };
}

const TOMBSTONE = "\u0000invalidated:";
const isTombstone = (raw: string): boolean => raw.startsWith(TOMBSTONE);
const freshToken = (): string => `${Date.now().toString(36)}${randomBytes(6).toString("hex")}`;

/**
 * KEYS[1] = key; ARGV = expected ('' for absent), value, ttl seconds. Sets the value only while
 * the key still holds what the reader saw, so a concurrent invalidation wins over a late fill.
 */
const FILL_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** `defineCommand` adds the script as a method of the client and of its pipelines. */
type FillingRedis = Redis & {
  clinicCacheFill(key: string, expected: string, value: string, ttlSeconds: number): Promise<number>;
};
type FillingPipeline = ChainableCommander & {
  clinicCacheFill(key: string, expected: string, value: string, ttlSeconds: number): FillingPipeline;
};

type Result = "hit" | "miss" | "error";
interface Outcome<T> {
  value: T | undefined;
  result: Result;
}

export interface CacheOptions {
  redis: Redis;
  logger: Logger;
  registry: Registry;
  /** After a Redis failure, Redis is left alone this long, so an outage costs one timeout, not one per request. */
  cooldownMs?: number;
  /** Invalidations that could not reach Redis are replayed on recovery; beyond this many, some are lost (TTL bounds them). */
  maxPendingInvalidations?: number;
  /** Put before every key, for deployments (or test stacks) that share one Redis; default none. */
  keyPrefix?: string;
}

export interface CacheMetrics {
  requests: Counter<"cache" | "result">;
  invalidations: Counter<"cache">;
  errors: Counter<"cache" | "op">;
  available: Gauge;
}

function createCacheMetrics(registry: Registry): CacheMetrics {
  return {
    requests: new Counter({
      name: "cache_requests_total",
      help: "Cache reads by cache and result: hit, miss (loaded and stored), error (Redis failed or skipped; loaded)",
      labelNames: ["cache", "result"],
      registers: [registry],
    }),
    invalidations: new Counter({
      name: "cache_invalidations_total",
      help: "Keys and list generations invalidated after a write, by cache",
      labelNames: ["cache"],
      registers: [registry],
    }),
    errors: new Counter({
      name: "cache_errors_total",
      help: "Failed or skipped Redis operations, by cache and operation (get, fill, invalidate, generation)",
      labelNames: ["cache", "op"],
      registers: [registry],
    }),
    available: new Gauge({
      name: "cache_available",
      help: "1 while Redis answers, 0 while the cache is bypassed after a failure",
      registers: [registry],
    }),
  };
}

interface PendingInvalidation {
  cache: string;
  kind: "tombstone" | "generation";
  ttlSeconds: number;
}

/**
 * One per process over one Redis client: tracks whether Redis answers, and holds the in-process
 * single-flight table. Use it through `keyed()` and `lists()` regions.
 */
export class Cache {
  readonly metrics: CacheMetrics;
  private readonly redis: FillingRedis;
  private readonly logger: Logger;
  private readonly cooldownMs: number;
  private readonly maxPending: number;
  private readonly keyPrefix: string;
  private down = false;
  private retryAt = 0;
  private recovering: Promise<void> | undefined;
  private readonly pending = new Map<string, PendingInvalidation>();
  private pendingDropped = 0;
  /** Reads in progress in this process, by Redis key (or list namespace and query). */
  private readonly flights = new Map<string, Promise<Outcome<unknown>>>();

  constructor(options: CacheOptions) {
    this.redis = options.redis as FillingRedis;
    if (typeof this.redis.clinicCacheFill !== "function") {
      this.redis.defineCommand("clinicCacheFill", { numberOfKeys: 1, lua: FILL_SCRIPT });
    }
    this.logger = options.logger;
    this.cooldownMs = options.cooldownMs ?? 1_000;
    this.maxPending = options.maxPendingInvalidations ?? 10_000;
    this.keyPrefix = options.keyPrefix ?? "";
    this.metrics = createCacheMetrics(options.registry);
    this.metrics.available.set(1);
  }

  /** Single keys, e.g. `slot:{id}`. */
  keyed<T>(options: { name: string; ttlSeconds: number; key: (id: string) => string; codec?: Codec<T> }): KeyedCache<T> {
    const prefix = this.keyPrefix;
    const key = prefix ? (id: string) => `${prefix}${options.key(id)}` : options.key;
    return new KeyedCache(this, options.name, options.ttlSeconds, key, options.codec ?? jsonCodec<T>());
  }

  /** Lists under a generation per namespace, e.g. `doctors:all` or `doctor:{id}:slots`. */
  lists<T>(options: { name: string; ttlSeconds: number; codec?: Codec<T> }): ListCache<T> {
    return new ListCache(this, options.name, options.ttlSeconds, options.codec ?? jsonCodec<T>(), this.keyPrefix);
  }

  /** True when Redis may be used now; during the cool-down after a failure, false (and a recovery probe may start). */
  get usable(): boolean {
    if (!this.down) {
      if (this.redis.status === "ready") return true;
      this.markDown(new Error(`redis connection is ${this.redis.status}`));
      return false;
    }
    if (Date.now() >= this.retryAt) this.recovering ??= this.recover().finally(() => (this.recovering = undefined));
    return false;
  }

  // ---- operations used by the regions -------------------------------------------------------

  /** Runs `work` once per key in this process at a time; concurrent callers share its outcome. */
  async singleFlight<T>(flightKey: string, cache: string, work: () => Promise<Outcome<T>>): Promise<T | undefined> {
    let flight = this.flights.get(flightKey) as Promise<Outcome<T>> | undefined;
    if (!flight) {
      const started: Promise<Outcome<T>> = work();
      flight = started;
      this.flights.set(flightKey, started);
      // Joiners see the rejection; the table must not make it "unhandled" when there are none.
      started.catch(() => undefined).finally(() => {
        if (this.flights.get(flightKey) === started) this.flights.delete(flightKey);
      });
    }
    const outcome = await flight;
    this.metrics.requests.inc({ cache, result: outcome.result });
    return outcome.value;
  }

  /** A read of one key: hit, or load and fill. Redis failures fall back to the loader. */
  async readThrough<T>(
    cache: string,
    key: string,
    ttlSeconds: number,
    codec: Codec<T>,
    loader: () => Promise<T | undefined>,
  ): Promise<Outcome<T>> {
    let seen: string | undefined;
    if (this.usable) {
      try {
        const raw = await this.redis.get(key);
        seen = raw ?? "";
        if (raw !== null && !isTombstone(raw)) {
          const value = this.decode(cache, codec, raw);
          if (value !== undefined) return { value, result: "hit" };
        }
      } catch (err) {
        this.failed(cache, "get", err);
      }
    } else {
      this.metrics.errors.inc({ cache, op: "get" });
    }
    const value = await loader();
    // Nothing is filled after a failed read (best effort: the next read tries again), and
    // "not found" is never cached.
    if (value !== undefined && seen !== undefined) await this.fill(cache, key, seen, codec.encode(value), ttlSeconds);
    return { value, result: seen === undefined ? "error" : "miss" };
  }

  /** Many keys in one MGET; the misses are loaded in one call. Keys already in flight are joined. */
  async readManyThrough<T>(
    cache: string,
    ids: readonly string[],
    keyOf: (id: string) => string,
    ttlSeconds: number,
    codec: Codec<T>,
    loader: (ids: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T>> {
    const unique = [...new Set(ids)];
    const joined = new Map<string, Promise<Outcome<T>>>();
    const own: string[] = [];
    for (const id of unique) {
      const flight = this.flights.get(keyOf(id)) as Promise<Outcome<T>> | undefined;
      if (flight) joined.set(id, flight);
      else own.push(id);
    }
    if (own.length > 0) {
      const batch = this.loadBatch(cache, own, keyOf, ttlSeconds, codec, loader);
      batch.catch(() => undefined);
      for (const id of own) {
        const key = keyOf(id);
        const flight = batch.then((outcomes) => outcomes.get(id) ?? { value: undefined, result: "miss" as const });
        flight.catch(() => undefined).finally(() => {
          if (this.flights.get(key) === flight) this.flights.delete(key);
        });
        this.flights.set(key, flight);
        joined.set(id, flight);
      }
    }
    const result = new Map<string, T>();
    const settled = await Promise.all([...joined].map(async ([id, flight]) => [id, await flight] as const));
    for (const [id, outcome] of settled) {
      this.metrics.requests.inc({ cache, result: outcome.result });
      if (outcome.value !== undefined) result.set(id, outcome.value);
    }
    return result;
  }

  private async loadBatch<T>(
    cache: string,
    ids: readonly string[],
    keyOf: (id: string) => string,
    ttlSeconds: number,
    codec: Codec<T>,
    loader: (ids: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, Outcome<T>>> {
    const keys = ids.map(keyOf);
    let raws: (string | null)[] | undefined;
    if (this.usable) {
      try {
        raws = await this.redis.mget(...keys);
      } catch (err) {
        this.failed(cache, "get", err);
      }
    } else {
      this.metrics.errors.inc({ cache, op: "get" });
    }
    const outcomes = new Map<string, Outcome<T>>();
    const toLoad: string[] = [];
    ids.forEach((id, i) => {
      const raw = raws?.[i];
      if (typeof raw === "string" && !isTombstone(raw)) {
        const value = this.decode(cache, codec, raw);
        if (value !== undefined) {
          outcomes.set(id, { value, result: "hit" });
          return;
        }
      }
      toLoad.push(id);
    });
    if (toLoad.length === 0) return outcomes;
    const loaded = await loader(toLoad);
    const seen = new Map(ids.map((id, i) => [id, raws?.[i] ?? ""]));
    const fills: { key: string; expected: string; value: string }[] = [];
    for (const id of toLoad) {
      const value = loaded.get(id);
      outcomes.set(id, { value, result: raws ? "miss" : "error" });
      if (raws && value !== undefined) fills.push({ key: keyOf(id), expected: seen.get(id) ?? "", value: codec.encode(value) });
    }
    await this.fillMany(cache, fills, ttlSeconds);
    return outcomes;
  }

  /** Stores values where their keys are still as seen (absent: `""`); best effort. */
  async fillMany(cache: string, fills: readonly { key: string; expected: string; value: string }[], ttlSeconds: number): Promise<number> {
    if (fills.length === 0 || !this.usable) return 0;
    try {
      const pipeline = this.redis.pipeline() as FillingPipeline;
      for (const { key, expected, value } of fills) pipeline.clinicCacheFill(key, expected, value, ttlSeconds);
      const replies = (await pipeline.exec()) ?? [];
      const error = replies.find(([err]) => err)?.[0];
      if (error) throw error;
      return replies.filter(([, stored]) => stored === 1).length;
    } catch (err) {
      this.failed(cache, "fill", err);
      return 0;
    }
  }

  private async fill(cache: string, key: string, expected: string, value: string, ttlSeconds: number): Promise<void> {
    if (!this.usable) return;
    try {
      await this.redis.clinicCacheFill(key, expected, value, ttlSeconds);
    } catch (err) {
      this.failed(cache, "fill", err);
    }
  }

  /** The current generation token of a list namespace; undefined when Redis cannot say. */
  async generation(cache: string, namespace: string, ttlSeconds: number): Promise<string | undefined> {
    if (!this.usable) {
      this.metrics.errors.inc({ cache, op: "generation" });
      return undefined;
    }
    const key = generationKey(namespace);
    try {
      const current = await this.redis.get(key);
      if (current !== null) return current;
      const token = freshToken();
      if ((await this.redis.set(key, token, "EX", ttlSeconds, "NX")) === "OK") return token;
      return (await this.redis.get(key)) ?? token;
    } catch (err) {
      this.failed(cache, "generation", err);
      return undefined;
    }
  }

  /**
   * Invalidates after a write. Never throws: a key that cannot be invalidated now is remembered
   * and invalidated when Redis answers again (and its TTL bounds the staleness meanwhile).
   */
  async invalidate(cache: string, entries: readonly { key: string; kind: "tombstone" | "generation"; ttlSeconds: number }[]): Promise<void> {
    if (entries.length === 0) return;
    this.metrics.invalidations.inc({ cache }, entries.length);
    for (const { key } of entries) this.dropFlights(key);
    if (!this.usable) {
      this.metrics.errors.inc({ cache, op: "invalidate" }, entries.length);
      for (const entry of entries) this.remember(entry.key, { cache, kind: entry.kind, ttlSeconds: entry.ttlSeconds });
      return;
    }
    try {
      await this.writeInvalidations(entries);
    } catch (err) {
      this.failed(cache, "invalidate", err);
      for (const entry of entries) this.remember(entry.key, { cache, kind: entry.kind, ttlSeconds: entry.ttlSeconds });
    }
  }

  private async writeInvalidations(entries: readonly { key: string; kind: "tombstone" | "generation"; ttlSeconds: number }[]): Promise<void> {
    // Separate commands, not a pipeline of their own: the client's auto-pipelining sends the
    // invalidations of every request finishing in this tick in one write.
    await Promise.all(
      entries.map(({ key, kind, ttlSeconds }) =>
        // A tombstone lives as long as the value would have, so no late fill outlives it.
        this.redis.set(key, kind === "tombstone" ? `${TOMBSTONE}${freshToken()}` : freshToken(), "EX", ttlSeconds),
      ),
    );
  }

  /** Local flights that began before a write must not be joined by reads after it. */
  private dropFlights(key: string): void {
    this.flights.delete(key);
    if (key.endsWith(GENERATION_SUFFIX)) {
      const prefix = listFlightPrefix(key.slice(0, -GENERATION_SUFFIX.length));
      for (const flightKey of this.flights.keys()) if (flightKey.startsWith(prefix)) this.flights.delete(flightKey);
    }
  }

  private remember(key: string, entry: PendingInvalidation): void {
    if (this.pending.size >= this.maxPending && !this.pending.has(key)) {
      this.pendingDropped += 1;
      return;
    }
    this.pending.set(key, entry);
  }

  private decode<T>(cache: string, codec: Codec<T>, raw: string): T | undefined {
    try {
      return codec.decode(raw);
    } catch (err) {
      // An entry of an older format, say: treat it as a miss and let the fill replace it.
      this.logger.debug({ err, cache }, "cache entry could not be decoded");
      return undefined;
    }
  }

  private failed(cache: string, op: string, err: unknown): void {
    this.metrics.errors.inc({ cache, op });
    this.markDown(err);
  }

  private markDown(err: unknown): void {
    this.retryAt = Date.now() + this.cooldownMs;
    if (this.down) return;
    this.down = true;
    this.metrics.available.set(0);
    this.logger.warn(
      { err: err instanceof Error ? err.message : String(err), cooldownMs: this.cooldownMs },
      "cache unavailable: reads go to the database until Redis answers again",
    );
  }

  /** Probes Redis after the cool-down; replays the invalidations it missed before reads use it again. */
  private async recover(): Promise<void> {
    try {
      if (this.redis.status !== "ready") throw new Error(`redis connection is ${this.redis.status}`);
      await this.redis.ping();
      const replay = [...this.pending];
      for (let i = 0; i < replay.length; i += 500) {
        await this.writeInvalidations(replay.slice(i, i + 500).map(([key, entry]) => ({ key, ...entry })));
      }
      for (const [key] of replay) this.pending.delete(key);
      const dropped = this.pendingDropped;
      this.pendingDropped = 0;
      this.down = false;
      this.metrics.available.set(1);
      this.logger.info({ replayedInvalidations: replay.length }, "cache available again");
      if (dropped > 0) {
        this.logger.warn({ droppedInvalidations: dropped }, "invalidations lost during the outage: those entries may be stale until their TTL");
      }
    } catch {
      this.retryAt = Date.now() + this.cooldownMs;
    }
  }
}

const GENERATION_SUFFIX = ":gen";
const generationKey = (namespace: string): string => `${namespace}${GENERATION_SUFFIX}`;
const listFlightPrefix = (namespace: string): string => `list\u0000${namespace}\u0000`;
const queryHash = (query: string): string => createHash("sha256").update(query).digest("base64url").slice(0, 22);

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
    return this.cache.readManyThrough(this.name, ids, this.keyOf, this.ttlSeconds, this.codec, loader);
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

/** Settings every cached service shares. */
export const cacheConfigSchema = redisConfigSchema.extend({
  /** Fill the caches at start (in the background where it takes long). */
  CACHE_WARM_ON_START: env.bool().default(true),
  /** How long Redis is bypassed after a failure before it is tried again. */
  CACHE_COOLDOWN_MS: env.positiveInt().default(1_000),
  /**
   * Put before every key. Empty (the default) gives the design's key names as they are; set it
   * when several deployments or test stacks, each with its own databases, share one Redis.
   */
  CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]*$/, "letters, digits and _ . : - only").default(""),
});
export type CacheConfig = z.output<typeof cacheConfigSchema>;

/**
 * The service's Redis client and cache: connected now if Redis answers (if not, the service
 * starts anyway, uncached, and ioredis keeps reconnecting), closed in the "clients" stage.
 */
export async function startCache(options: {
  config: CacheConfig;
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
}): Promise<{ cache: Cache; redis: Redis }> {
  const redis = await connectRedis({
    url: options.config.REDIS_URL,
    logger: options.logger,
    lifecycle: options.lifecycle,
    unavailableMessage: "starting without Redis: serving uncached until it answers",
  });
  const cache = new Cache({
    redis,
    logger: options.logger,
    registry: options.registry,
    cooldownMs: options.config.CACHE_COOLDOWN_MS,
    keyPrefix: options.config.CACHE_KEY_PREFIX,
  });
  return { cache, redis };
}
