import type { Patient, SlotRef } from "./modes/target";

/**
 * The simulated patients, handed out round a ring. A scenario takes the next patient for each
 * visit (a booking, a hold and its confirmation, a browsing session), so requests spread over
 * the whole population and each patient stays far below the edge's per-account rate limit.
 * The ring wraps in long runs: a patient then comes back for other slots, never for a slot it
 * has already asked for (the service holds one seat per patient per slot).
 */
export class PatientPool {
  private cursor = 0;

  constructor(readonly patients: readonly Patient[]) {
    if (patients.length === 0) throw new Error("no patients");
  }

  get size(): number {
    return this.patients.length;
  }

  next(): Patient {
    const patient = this.patients[this.cursor]!;
    this.cursor = (this.cursor + 1) % this.patients.length;
    return patient;
  }

  /** The next patient who has not asked for a seat in this slot yet. */
  nextFor(slotId: string): Patient {
    for (let tries = 0; tries < this.patients.length; tries++) {
      const patient = this.next();
      if (!patient.asked.has(slotId)) return patient;
    }
    throw new Error(`every one of the ${this.patients.length} patients has asked for slot ${slotId}: raise --patients`);
  }
}

/** A random slot this patient has not asked for yet (a browsing patient picks what to book). */
export function pickSlotFor(patient: Patient, slots: readonly SlotRef[]): SlotRef | undefined {
  for (let tries = 0; tries < 64; tries++) {
    const slot = slots[Math.floor(Math.random() * slots.length)]!;
    if (!patient.asked.has(slot.id)) return slot;
  }
  return slots.find((s) => !patient.asked.has(s.id));
}
