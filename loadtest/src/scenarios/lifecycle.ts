import { book, closedLoop, pick, timed, type ScenarioContext } from "./common";

/** Of the holds taken: confirmed, cancelled, and the rest left to lapse (the sweeper's work). */
export const LIFECYCLE_SPLIT = { confirm: 0.6, cancel: 0.3 } as const;

/**
 * 4. Lifecycle: hold a seat, then confirm (60%) or cancel (30%) it, or leave it to expire (10%).
 * The patient who holds the seat confirms or cancels it: nobody else may.
 */
export async function runLifecycle(ctx: ScenarioContext): Promise<void> {
  const { target, recorder } = ctx;
  await closedLoop(ctx, async () => {
    const slot = pick(ctx.slots);
    const patient = ctx.patients.nextFor(slot.id);
    const held = await book(ctx, slot, patient);
    if (!held.ok || !held.bookingId) return;
    const id = held.bookingId;
    const r = Math.random();
    if (r < LIFECYCLE_SPLIT.confirm) {
      const done = await timed(recorder, "confirm", patient, () => target.confirm(id, patient));
      if (done.ok) recorder.bookings.get(id)!.status = "CONFIRMED";
    } else if (r < LIFECYCLE_SPLIT.confirm + LIFECYCLE_SPLIT.cancel) {
      const done = await timed(recorder, "cancel", patient, () => target.cancel(id, patient));
      if (done.ok) recorder.bookings.get(id)!.status = "CANCELLED";
    }
  });
}
