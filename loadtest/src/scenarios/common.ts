import { randomUUID } from "node:crypto";
import type { Patient, SlotRef, Target } from "../modes/target";
import type { Options } from "../options";
import type { DoctorRef } from "../seed";
import type { OpKind, Outcome, Recorder } from "../stats";

export interface ScenarioContext {
  target: Target;
  /** This mode's slots for this scenario. */
  slots: SlotRef[];
  doctors: DoctorRef[];
  options: Options;
  recorder: Recorder;
}

/** Per hot slot: how the burst of clients ended. Exactly `capacity` may succeed. */
export interface HotSlotResult {
  slotId: string;
  capacity: number;
  attempts: number;
  booked: number;
  full: number;
  other: number;
}

/** A new patient per booking, so the duplicate-hold check never refuses one. */
export const newPatient = (): Patient => ({ id: randomUUID(), name: "Load Test", contact: "loadtest@example.org" });

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Times one call with a monotonic clock and records it; never throws (Targets do not). */
export async function timed(recorder: Recorder, kind: OpKind, call: () => Promise<Outcome>): Promise<Outcome> {
  const t0 = performance.now();
  const outcome = await call();
  recorder.record(kind, performance.now() - t0, outcome);
  return outcome;
}

/**
 * A closed loop: each client sends, waits for the answer, and sends again, until the duration is
 * over. Throughput is then what the system sustains at that concurrency (no coordinated-omission
 * queue builds up in the harness, unlike an open-loop arrival rate above capacity).
 */
export async function closedLoop(ctx: ScenarioContext, step: () => Promise<void>): Promise<void> {
  const { recorder, options } = ctx;
  recorder.startedAt = performance.now();
  const end = recorder.startedAt + options.durationS * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < end) await step();
    }),
  );
  recorder.endedAt = performance.now();
}

export async function book(ctx: ScenarioContext, slot: SlotRef): Promise<Outcome> {
  const outcome = await timed(ctx.recorder, "book", () => ctx.target.hold(slot, newPatient()));
  if (outcome.ok && outcome.bookingId) {
    ctx.recorder.bookings.set(outcome.bookingId, { id: outcome.bookingId, slotId: slot.id, status: "PENDING" });
  }
  return outcome;
}
