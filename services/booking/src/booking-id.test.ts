import { decodeBookingId, newBookingId } from "./booking-id";
import { BUCKET_COUNT, ShardMap, bucketOf } from "./shard-map";

describe("booking ids", () => {
  it("are UUIDv7 that carry their bucket and creation time", () => {
    for (const bucket of [0, 1, 255, 256, 2048, BUCKET_COUNT - 1]) {
      const now = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
      const id = newBookingId(bucket, now);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(decodeBookingId(id)).toEqual({ bucket, createdAt: new Date(now) });
      expect(decodeBookingId(id.toUpperCase())).toEqual({ bucket, createdAt: new Date(now) });
    }
  });

  it("are unique and sort by creation time", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newBookingId(i % BUCKET_COUNT, 1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("refuses other UUID versions and garbage", () => {
    expect(decodeBookingId("0c8f3a8e-4b5d-4c1e-9f1a-2b3c4d5e6f70")).toBeUndefined(); // v4
    expect(decodeBookingId("not-a-uuid")).toBeUndefined();
    expect(decodeBookingId("")).toBeUndefined();
    expect(() => newBookingId(BUCKET_COUNT)).toThrow();
    expect(() => newBookingId(-1)).toThrow();
  });
});

describe("shard routing", () => {
  it("hashes a doctor to a stable bucket, spread over all buckets", () => {
    expect(bucketOf("0c8f3a8e-4b5d-4c1e-9f1a-2b3c4d5e6f70")).toBe(bucketOf("0C8F3A8E-4B5D-4C1E-9F1A-2B3C4D5E6F70"));
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i += 1) seen.add(bucketOf(`doctor-${i}`));
    expect(seen.size).toBeGreaterThan(BUCKET_COUNT * 0.99);
  });

  it("deals buckets round-robin by default and validates explicit maps", () => {
    const map = ShardMap.roundRobin(4);
    expect([0, 1, 2, 3, 4, 4095].map((b) => map.shardOf(b))).toEqual([0, 1, 2, 3, 0, 3]);
    const moved = Array.from({ length: BUCKET_COUNT }, (_, b) => (b === 7 ? 4 : b % 4));
    expect(ShardMap.fromArray(moved, 5).shardOf(7)).toBe(4);
    expect(() => ShardMap.fromArray(moved, 4)).toThrow(/bucket 7 points at shard 4/);
    expect(() => ShardMap.fromArray([0, 1], 2)).toThrow(/4096/);
  });
});
