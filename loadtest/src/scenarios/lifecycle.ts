import { book, closedLoop, pick, timed, type ScenarioContext } from "./common";

/** Of the holds taken: confirmed, cancelled, and the rest left to lapse (the sweeper's work). */
export const LIFECYCLE_SPLIT = { confirm: 0.6, cancel: 0.3 } as const;

/** 4. Lifecycle: hold a seat, then confirm (60%) or cancel (30%) it, or leave it to expire (10%). */
export async function runLifecycle(ctx: ScenarioContext): Promise<void> {
  const { target, recorder } = ctx;
  await closedLoop(ctx, async () => {
    const held = await book(ctx, pick(ctx.slots));
    if (!held.ok || !held.bookingId) return;
    const id = held.bookingId;
    const r = Math.random();
    if (r < LIFECYCLE_SPLIT.confirm) {
      const done = await timed(recorder, "confirm", () => target.confirm(id));
      if (done.ok) recorder.bookings.get(id)!.status = "CONFIRMED";
    } else if (r < LIFECYCLE_SPLIT.confirm + LIFECYCLE_SPLIT.cancel) {
      const done = await timed(recorder, "cancel", () => target.cancel(id));
      if (done.ok) recorder.bookings.get(id)!.status = "CANCELLED";
    }
  });
}
