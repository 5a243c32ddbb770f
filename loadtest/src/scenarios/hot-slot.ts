import { book, type HotSlotResult, type ScenarioContext } from "./common";

/**
 * 2. One slot, `hotClients` clients at once (1,000 by default) for `hotCapacity` seats (10),
 * then the next fresh slot, until the duration is over or the slots run out. Every burst must
 * end with exactly `capacity` bookings and the rest refused as full.
 */
export async function runHotSlot(ctx: ScenarioContext): Promise<HotSlotResult[]> {
  const { recorder, options } = ctx;
  const results: HotSlotResult[] = [];
  recorder.startedAt = performance.now();
  const end = recorder.startedAt + options.durationS * 1000;
  for (const slot of ctx.slots) {
    if (results.length > 0 && performance.now() >= end) break;
    const outcomes = await Promise.all(Array.from({ length: options.hotClients }, () => book(ctx, slot)));
    const booked = outcomes.filter((o) => o.ok).length;
    const full = outcomes.filter((o) => !o.ok && /SLOT_FULL/.test(o.status)).length;
    results.push({ slotId: slot.id, capacity: slot.capacity, attempts: outcomes.length, booked, full, other: outcomes.length - booked - full });
  }
  recorder.endedAt = performance.now();
  return results;
}
