import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { Logger } from "../logging/logger";
import { SingleFlight } from "../single-flight/single-flight";
import { createCacheMetrics, type CacheMetrics } from "./cache-metrics";
import { jsonCodec, type Codec } from "./codec";
import { FILL_SCRIPT, type FillingPipeline, type FillingRedis } from "./fill-script";
import { GENERATION_SUFFIX, TOMBSTONE, freshToken, generationKey, isTombstone, listFlightPrefix } from "./key-layout";
import { KeyedCache } from "./keyed-cache";
import { ListCache } from "./list-cache";

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

type Result = "hit" | "miss" | "error";
/** What one read gave, shared by every caller that joined its flight. */
export interface Outcome<T> {
  value: T | undefined;
  result: Result;
}

/** A read of many keys of one keyed cache: how ids become keys and values, and how misses load. */
export interface BatchRead<T> {
  cache: string;
  keyOf: (id: string) => string;
  ttlSeconds: number;
  codec: Codec<T>;
  /** Gets the ids that missed; answers with those it found. */
  loader: (ids: string[]) => Promise<Map<string, T>>;
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
  private readonly flights = new SingleFlight<string, Outcome<unknown>>();

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
    const outcome = (await this.flights.run(flightKey, work)) as Outcome<T>;
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
    const raw = await this.tryRedis(cache, "get", () => this.redis.get(key));
    // What the fill expects to find: "" for an absent key; undefined when Redis could not say.
    const seen = raw === undefined ? undefined : (raw ?? "");
    if (typeof raw === "string" && !isTombstone(raw)) {
      const value = this.decode(cache, codec, raw);
      if (value !== undefined) return { value, result: "hit" };
    }
    const value = await loader();
    // Nothing is filled after a failed read (best effort: the next read tries again), and
    // "not found" is never cached.
    if (value !== undefined && seen !== undefined) await this.fill(cache, key, seen, codec.encode(value), ttlSeconds);
    return { value, result: seen === undefined ? "error" : "miss" };
  }

  /** Many keys in one MGET; the misses are loaded in one call. Keys already in flight are joined. */
  async readManyThrough<T>(read: BatchRead<T>, ids: readonly string[]): Promise<Map<string, T>> {
    const { cache, keyOf } = read;
    const unique = [...new Set(ids)];
    // Ids already in flight are joined; the rest are read in one batch, each id's flight settling
    // with it. Checked and started in the same tick, so no flight can begin in between.
    const own = unique.filter((id) => !this.flights.has(keyOf(id)));
    const batch = own.length > 0 ? this.loadBatch(read, own) : undefined;
    // Every own id's flight carries a rejection to its callers; the batch itself must not be "unhandled".
    batch?.catch(() => undefined);
    const fromBatch = (id: string) => async (): Promise<Outcome<unknown>> => (await batch!).get(id) ?? { value: undefined, result: "miss" };
    const settled = await Promise.all(
      unique.map(async (id) => [id, (await this.flights.run(keyOf(id), fromBatch(id))) as Outcome<T>] as const),
    );
    const result = new Map<string, T>();
    for (const [id, outcome] of settled) {
      this.metrics.requests.inc({ cache, result: outcome.result });
      if (outcome.value !== undefined) result.set(id, outcome.value);
    }
    return result;
  }

  private async loadBatch<T>(read: BatchRead<T>, ids: readonly string[]): Promise<Map<string, Outcome<T>>> {
    const { cache, keyOf, ttlSeconds, codec, loader } = read;
    const keys = ids.map(keyOf);
    const raws = await this.tryRedis(cache, "get", () => this.redis.mget(...keys));
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
  generation(cache: string, namespace: string, ttlSeconds: number): Promise<string | undefined> {
    const key = generationKey(namespace);
    return this.tryRedis(cache, "generation", async () => {
      const current = await this.redis.get(key);
      if (current !== null) return current;
      const token = freshToken();
      if ((await this.redis.set(key, token, "EX", ttlSeconds, "NX")) === "OK") return token;
      return (await this.redis.get(key)) ?? token;
    });
  }

  /**
   * A Redis read, or undefined when Redis cannot say: skipped during the cool-down (counted as an
   * error of `op`) or failed (counted, and the cool-down starts).
   */
  private async tryRedis<R>(cache: string, op: string, read: () => Promise<R>): Promise<R | undefined> {
    if (!this.usable) {
      this.metrics.errors.inc({ cache, op });
      return undefined;
    }
    try {
      return await read();
    } catch (err) {
      this.failed(cache, op, err);
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
    this.flights.forget(key);
    if (key.endsWith(GENERATION_SUFFIX)) {
      const prefix = listFlightPrefix(key.slice(0, -GENERATION_SUFFIX.length));
      this.flights.forgetWhere((flightKey) => flightKey.startsWith(prefix));
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
