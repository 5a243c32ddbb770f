import { book, closedLoop, pick, type ScenarioContext } from "./common";

/** 1. Bookings spread over many roomy slots: the no-contention throughput of the booking path. */
export async function runSpread(ctx: ScenarioContext): Promise<void> {
  await closedLoop(ctx, async () => {
    await book(ctx, pick(ctx.slots));
  });
}
