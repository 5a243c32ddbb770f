import { DomainError } from "@clinic/platform/errors";
import { decodeBookingId } from "./booking-id";
import type { BookingRepositoryLike } from "./scatter";
import { bucketOf, type ShardMap } from "./shard-map";

/** Finds the shard of a doctor or of a booking id; never scatters. */
export class BookingRouter<S extends BookingRepositoryLike> {
  constructor(
    readonly shards: readonly S[],
    private readonly map: ShardMap,
  ) {
    if (map.shardCount !== shards.length) throw new Error(`shard map expects ${map.shardCount} shards, got ${shards.length}`);
  }

  bucketOfDoctor(doctorId: string): number {
    return bucketOf(doctorId);
  }

  forBucket(bucket: number): S {
    return this.shards[this.map.shardOf(bucket)]!;
  }

  forDoctor(doctorId: string): S {
    return this.forBucket(bucketOf(doctorId));
  }

  /** The shard and partition key of a booking id; a string that is no booking id is NOT_FOUND. */
  forBookingId(id: string): { shard: S; createdAt: Date } {
    const decoded = decodeBookingId(id);
    if (!decoded) throw new DomainError("not_found", "BOOKING_NOT_FOUND", `booking ${id} not found`);
    return { shard: this.forBucket(decoded.bucket), createdAt: decoded.createdAt };
  }
}


