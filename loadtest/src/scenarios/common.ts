import type { Patient, SlotRef, Target } from "../modes/target";
import type { Options } from "../options";
import type { PatientPool } from "../patients";
import type { DoctorRef } from "../seed";
import type { OpKind, Outcome, Recorder } from "../stats";

export interface ScenarioContext {
  target: Target;
  /** This mode's slots for this scenario. */
  slots: SlotRef[];
  doctors: DoctorRef[];
  options: Options;
  recorder: Recorder;
  /** Who makes the requests: each visit takes the next patient, with its own token. */
  patients: PatientPool;
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

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Times one call with a monotonic clock and records it; never throws (Targets do not). */
export async function timed(recorder: Recorder, kind: OpKind, patient: Patient, call: () => Promise<Outcome>): Promise<Outcome> {
  const t0 = performance.now();
  const outcome = await call();
  recorder.record(kind, performance.now() - t0, outcome, patient.index);
  return outcome;
}

/**
 * A closed loop: each client sends, waits for the answer, and sends again, until the duration is
 * over. Throughput is then what the system sustains at that concurrency (no coordinated-omission
 * queue builds up in the harness, unlike an open-loop arrival rate above capacity).
 */
export async function closedLoop(ctx: ScenarioContext, step: (client: number) => Promise<void>): Promise<void> {
  const { recorder, options } = ctx;
  recorder.startedAt = performance.now();
  const end = recorder.startedAt + options.durationS * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, client) => {
      while (performance.now() < end) await step(client);
    }),
  );
  recorder.endedAt = performance.now();
}

/**
 * One seat in `slot` for a patient who has not asked for one there before (by default the next
 * such patient of the pool), as that patient: the booking's patient is the token's subject.
 */
export async function book(ctx: ScenarioContext, slot: SlotRef, patient: Patient = ctx.patients.nextFor(slot.id)): Promise<Outcome> {
  if (patient.asked.has(slot.id)) throw new Error(`patient ${patient.id} already asked for slot ${slot.id}`);
  patient.asked.add(slot.id);
  const outcome = await timed(ctx.recorder, "book", patient, () => ctx.target.hold(slot, patient));
  if (outcome.ok && outcome.bookingId) {
    ctx.recorder.bookings.set(outcome.bookingId, { id: outcome.bookingId, slotId: slot.id, patientId: patient.id, status: "PENDING" });
  }
  return outcome;
}
