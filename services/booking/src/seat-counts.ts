import type { BookingShardRepository } from "./booking-repository";
import type { BookingRouter } from "./booking-router";
import type { SlotDirectory } from "./slot-directory";

/** What GetAvailability caches per slot (`slot:{id}:bookings:count`). */
export interface SeatCount {
  capacity: number;
  held: number;
}

/** The availability cache key of a slot (design section 5.2). */
export const seatCountKey = (slotId: string): string => `slot:${slotId}:bookings:count`;

/** Seats of existing, open slots from their shards; deleted (retired) and unknown slots are absent. */
export async function seatCountsFromShards(
  router: BookingRouter<BookingShardRepository>,
  slots: SlotDirectory,
  slotIds: readonly string[],
): Promise<Map<string, SeatCount>> {
  const found = await slots.getMany(slotIds);
  const byShard = new Map<BookingShardRepository, string[]>();
  for (const slot of found.values()) {
    const shard = router.forDoctor(slot.doctorId);
    byShard.set(shard, [...(byShard.get(shard) ?? []), slot.id]);
  }
  const rows = (await Promise.all([...byShard].map(([shard, ids]) => shard.availability(ids)))).flat();
  const inventory = new Map(rows.map((r) => [r.slot_id, r]));
  const counts = new Map<string, SeatCount>();
  for (const slot of found.values()) {
    const row = inventory.get(slot.id);
    if (row?.retired) continue;
    // No inventory row yet means nobody has booked: every seat is free.
    counts.set(slot.id, { capacity: row?.capacity ?? slot.capacity, held: Math.max(0, row?.held ?? 0) });
  }
  return counts;
}
