import { createHash } from "node:crypto";
import { Pool } from "pg";
import type { PgSettings } from "./config";

/**
 * The booking service's routing, restated so the harness can spread doctors over shards and
 * pick one shard for pgbench without importing a service's internals:
 * `bucket = first 32 bits of sha256(doctor_id) mod 4096`, shard = bucket mod shards (the default
 * round-robin map; a custom BOOKING_SHARD_MAP_FILE is detected later, where slots really land).
 */
export const BUCKET_COUNT = 4096;

export function bucketOf(doctorId: string): number {
  return createHash("sha256").update(doctorId.toLowerCase()).digest().readUInt32BE(0) % BUCKET_COUNT;
}

export const roundRobinShardOf = (doctorId: string, shardCount: number): number => bucketOf(doctorId) % shardCount;

/** One small pool per shard database: verification and settle checks only, never on the hot path. */
export function shardPools(settings: PgSettings, databases: readonly string[], max = 4): Pool[] {
  return databases.map((database) => openPool(settings, database, max, "loadtest-verify"));
}

/**
 * A database as the stack names it: a name on PGHOST:PGPORT, or `host:port/database` (a booking
 * shard's primary address at HAProxy when the shards are Patroni clusters).
 */
export function databaseAt(settings: PgSettings, entry: string): PgSettings & { database: string } {
  const match = /^([^\s/:]+):(\d+)\/(.+)$/.exec(entry);
  return match ? { ...settings, host: match[1]!, port: Number(match[2]), database: match[3]! } : { ...settings, database: entry };
}

export function openPool(settings: PgSettings, database: string, max: number, applicationName: string): Pool {
  const pool = new Pool({
    ...databaseAt(settings, database),
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
  });
  // An idle connection cut by the server (a failover, HAProxy dropping a demoted primary) is an
  // event, not a crash: the pool drops it and the next query dials again.
  pool.on("error", () => undefined);
  return pool;
}

/** Unpublished outbox rows over every shard: the relay's backlog still to reach Kafka. */
export async function outboxBacklog(pools: readonly Pool[]): Promise<number> {
  const counts = await Promise.all(
    pools.map(async (pool) => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL");
      return rows[0]?.n ?? 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
