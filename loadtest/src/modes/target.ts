import type { Outcome } from "../stats";

export interface SlotRef {
  id: string;
  doctorId: string;
  startTime: string;
  endTime: string;
  capacity: number;
}

export interface Patient {
  id: string;
  name: string;
  contact: string;
}

/**
 * What a scenario drives. The edge, gRPC and seed-baseline modes implement it, so one scenario
 * runs unchanged against each and the numbers stay comparable. Methods never throw: a failure
 * is an Outcome with its status, counted like any other answer.
 */
export interface Target {
  hold(slot: SlotRef, patient: Patient): Promise<Outcome>;
  confirm(bookingId: string): Promise<Outcome>;
  cancel(bookingId: string): Promise<Outcome>;
  listDoctors(): Promise<Outcome>;
  listSlots(doctorId: string): Promise<Outcome>;
  availability(slotIds: readonly string[]): Promise<Outcome>;
  close(): Promise<void>;
}

/** A transport failure (refused, reset, timeout) as an Outcome, named by its code. */
export function failure(err: unknown): Outcome {
  const code = (err as { code?: unknown }).code;
  return { ok: false, status: `ERR ${typeof code === "string" ? code : err instanceof Error ? err.name : "unknown"}` };
}
