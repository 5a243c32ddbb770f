import { book, closedLoop, pick, timed, type ScenarioContext } from "./common";

/** Slots per availability request: a patient's screen showing a day of one doctor. */
const AVAILABILITY_BATCH = 10;

/**
 * 3. Browse and book: 90% reads, split evenly between listing doctors, listing a doctor's slots
 * and asking availability of a page of slots; 10% bookings on this mode's slots.
 */
export async function runBrowseAndBook(ctx: ScenarioContext): Promise<void> {
  const { target, recorder } = ctx;
  await closedLoop(ctx, async () => {
    const r = Math.random();
    if (r < 0.3) {
      await timed(recorder, "list_doctors", () => target.listDoctors());
    } else if (r < 0.6) {
      await timed(recorder, "list_slots", () => target.listSlots(pick(ctx.doctors).id));
    } else if (r < 0.9) {
      const ids = Array.from({ length: AVAILABILITY_BATCH }, () => pick(ctx.slots).id);
      await timed(recorder, "availability", () => target.availability([...new Set(ids)]));
    } else {
      await book(ctx, pick(ctx.slots));
    }
  });
}
