import type { Outcome } from "../stats";

export interface SlotRef {
  id: string;
  doctorId: string;
  startTime: string;
  endTime: string;
  capacity: number;
}

/**
 * A simulated patient: an account id and an access token for it, minted before the timed phase
 * (see tokens.ts). Every request of a scenario is made as some patient.
 */
export interface Patient {
  /** Position in the pool: the per-run request count per patient is kept by it. */
  index: number;
  /** The token's `sub`: the patient id the booking service stores. */
  id: string;
  name: string;
  contact: string;
  /** `Bearer <token>`, the header (or gRPC metadata) value. */
  authorization: string;
  /**
   * Slots this patient has asked for a seat in. A patient never asks twice for one slot: the
   * service holds one seat per patient per slot and would answer `ALREADY_BOOKED`.
   */
  asked: Set<string>;
}

/**
 * What a scenario drives. The edge, gRPC and seed-baseline modes implement it, so one scenario
 * runs unchanged against each and the numbers stay comparable. Methods never throw: a failure
 * is an Outcome with its status, counted like any other answer. Every call is made as a patient
 * (the seed baseline has no authentication and ignores the token).
 */
export interface Target {
  hold(slot: SlotRef, patient: Patient): Promise<Outcome>;
  /** By the patient who holds the booking: only they (or an admin) may. */
  confirm(bookingId: string, patient: Patient): Promise<Outcome>;
  cancel(bookingId: string, patient: Patient): Promise<Outcome>;
  listDoctors(patient: Patient): Promise<Outcome>;
  listSlots(doctorId: string, patient: Patient): Promise<Outcome>;
  availability(slotIds: readonly string[], patient: Patient): Promise<Outcome>;
  close(): Promise<void>;
}

/** A transport failure (refused, reset, timeout) as an Outcome, named by its code. */
export function failure(err: unknown): Outcome {
  const code = (err as { code?: unknown }).code;
  return { ok: false, status: `ERR ${typeof code === "string" ? code : err instanceof Error ? err.name : "unknown"}` };
}
