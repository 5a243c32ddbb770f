import { randomBytes } from "node:crypto";
import { BUCKET_COUNT } from "./shard-map";

/**
 * Booking ids are UUIDv7 (RFC 9562) whose 12-bit `rand_a` field carries the doctor's bucket.
 * So an id alone names its shard (no scatter on lookups), and its 48-bit timestamp is the
 * booking's `created_at`, which also names its time partition.
 */
export function newBookingId(bucket: number, now: number = Date.now()): string {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKET_COUNT) throw new Error(`bad bucket ${bucket}`);
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6); // unix_ts_ms
  bytes[6] = 0x70 | (bucket >> 8); // version 7 + high 4 bits of the bucket
  bytes[7] = bucket & 0xff; // low 8 bits of the bucket
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // RFC variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface DecodedBookingId {
  bucket: number;
  createdAt: Date;
}

/** undefined when the string is not a booking id (not a UUIDv7), which callers report as 404. */
export function decodeBookingId(id: string): DecodedBookingId | undefined {
  const normalized = id.toLowerCase();
  if (!V7.test(normalized)) return undefined;
  const hex = normalized.replace(/-/g, "");
  return {
    bucket: Number.parseInt(hex.slice(13, 16), 16),
    createdAt: new Date(Number.parseInt(hex.slice(0, 12), 16)),
  };
}
