import { createHash } from "node:crypto";

/** Buckets are the unit of data placement; shards own sets of buckets. */
export const BUCKET_COUNT = 4096;

/** Stable across processes and releases: the first 32 bits of SHA-256 of the canonical UUID. */
export function bucketOf(key: string): number {
  return createHash("sha256").update(key.toLowerCase()).digest().readUInt32BE(0) % BUCKET_COUNT;
}

/**
 * bucket -> shard. The default deals buckets round-robin (the design document's
 * `hash % num_shards`); an explicit map lets operators move buckets to a new shard later
 * without rehashing every doctor.
 */
export class ShardMap {
  private constructor(private readonly shardOfBucket: readonly number[], readonly shardCount: number) {}

  static roundRobin(shardCount: number): ShardMap {
    if (!Number.isInteger(shardCount) || shardCount < 1) throw new Error("shard count must be >= 1");
    return new ShardMap(Array.from({ length: BUCKET_COUNT }, (_, b) => b % shardCount), shardCount);
  }

  static fromArray(map: unknown, shardCount: number): ShardMap {
    if (!Array.isArray(map) || map.length !== BUCKET_COUNT) {
      throw new Error(`shard map must be an array of ${BUCKET_COUNT} shard indexes`);
    }
    map.forEach((shard, bucket) => {
      if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
        throw new Error(`shard map: bucket ${bucket} points at shard ${String(shard)}, but there are ${shardCount} shards`);
      }
    });
    return new ShardMap(map as number[], shardCount);
  }

  shardOf(bucket: number): number {
    const shard = this.shardOfBucket[bucket];
    if (shard === undefined) throw new Error(`bucket ${bucket} out of range`);
    return shard;
  }
}
