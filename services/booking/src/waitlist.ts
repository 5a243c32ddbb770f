import { randomUUID } from "node:crypto";
import { inTransaction, type Knex } from "@clinic/platform/db";
import { DomainError, notFound } from "@clinic/platform/errors";
import { bookingV1 } from "@clinic/proto";
import { activeBookingOf, effectiveStatus, type BookingRow, type WaitlistEntryRow } from "./booking-repository";

/**
 * The waitlist of a full slot: patients in the order they joined, kept in the shard of the slot's
 * doctor. Seats are offered from it by `BookingShardRepository.offerFreedSeats`, in the very
 * transaction that frees them; this module only lets patients join, leave and see where they are.
 */

const { WaitlistState } = bookingV1;

export interface PatientDetails {
  patientId: string;
  patientName: string;
  patientContact: string;
  patientPhone: string;
}

/** An entry with what became of its offer (the booking's state) and its place in the queue. */
export type EntryView = WaitlistEntryRow & { offer_status: BookingRow["status"] | null; offer_expires_at: Date | null; position: number };

const ENTRY_VIEW = `
  SELECT e.*, b.status AS offer_status, b.expires_at AS offer_expires_at,
         CASE WHEN e.state = 'waiting'
              THEN (SELECT count(*)::int FROM waitlist_entries w
                     WHERE w.slot_id = e.slot_id AND w.state = 'waiting' AND (w.joined_at, w.id) <= (e.joined_at, e.id))
              ELSE 0 END AS position
    FROM waitlist_entries e
    LEFT JOIN bookings b ON b.id = e.offer_booking_id`;

export function toWaitlistEntry(row: EntryView, now: Date = new Date()): bookingV1.WaitlistEntry {
  return {
    id: row.id,
    slotId: row.slot_id,
    patientId: row.patient_id,
    state: stateOf(row, now),
    position: row.position,
    offerBookingId: row.offer_booking_id ?? "",
    joinTime: row.joined_at,
    updateTime: row.updated_at,
  };
}

function stateOf(row: EntryView, now: Date): bookingV1.WaitlistState {
  switch (row.state) {
    case "waiting":
      return WaitlistState.WAITLIST_STATE_WAITING;
    case "left":
      return WaitlistState.WAITLIST_STATE_LEFT;
    case "skipped":
      return WaitlistState.WAITLIST_STATE_SKIPPED;
    case "offered": {
      // The offer's booking says the rest: held, taken, or gone to the next in line.
      if (row.offer_status === null || row.offer_expires_at === null) return WaitlistState.WAITLIST_STATE_LAPSED;
      const status = effectiveStatus({ status: row.offer_status, expires_at: row.offer_expires_at } as BookingRow, now);
      if (status === "CONFIRMED") return WaitlistState.WAITLIST_STATE_BOOKED;
      return status === "PENDING" ? WaitlistState.WAITLIST_STATE_OFFERED : WaitlistState.WAITLIST_STATE_LAPSED;
    }
  }
}

/**
 * Joins the slot's queue. Under the slot's inventory row lock, as every seat change takes it: a
 * seat freed at this instant is either offered before the join (and the slot is not full: the
 * join is refused, book it) or after it (and offered to the queue, this patient included).
 */
export async function joinWaitlist(db: Knex, slotId: string, patient: PatientDetails): Promise<EntryView> {
  return inTransaction(db, async (trx) => {
    const { rows: inventory } = await trx.raw<{ rows: { capacity: number; held: number; retired: boolean }[] }>(
      "SELECT capacity, held, retired FROM slot_inventory WHERE slot_id = ? FOR UPDATE",
      [slotId],
    );
    const seats = inventory[0];
    if (seats?.retired) throw notFound("slot", slotId);
    if (!seats || seats.held < seats.capacity) {
      throw new DomainError("conflict", "SLOT_HAS_SEATS", "the slot has a free seat: book it instead of joining its waitlist");
    }
    const holding = await activeBookingOf(trx, slotId, patient.patientId);
    if (holding) throw new DomainError("conflict", "ALREADY_BOOKED", `patient already holds booking ${holding} for this slot`);
    const { rows } = await trx.raw<{ rows: { id: string }[] }>(
      `INSERT INTO waitlist_entries (id, slot_id, patient_id, patient_name, patient_contact, patient_phone, state)
       VALUES (?, ?, ?, ?, ?, ?, 'waiting')
       ON CONFLICT (slot_id, patient_id) WHERE state = 'waiting' DO NOTHING RETURNING id`,
      [randomUUID(), slotId, patient.patientId, patient.patientName, patient.patientContact, patient.patientPhone],
    );
    if (!rows[0]) throw new DomainError("conflict", "ALREADY_ON_WAITLIST", "the patient is on this slot's waitlist already");
    return (await viewOf(trx, "e.id = ?", [rows[0].id]))[0]!;
  });
}

/** Leaves the queue; an offer made already stays the patient's booking to confirm or cancel. */
export async function leaveWaitlist(db: Knex, slotId: string, patientId: string): Promise<EntryView> {
  const { rows } = await db.raw<{ rows: { id: string }[] }>(
    "UPDATE waitlist_entries SET state = 'left', updated_at = now() WHERE slot_id = ? AND patient_id = ? AND state = 'waiting' RETURNING id",
    [slotId, patientId],
  );
  if (!rows[0]) throw new DomainError("not_found", "NOT_ON_WAITLIST", "the patient is not waiting for this slot");
  return (await viewOf(db, "e.id = ?", [rows[0].id]))[0]!;
}

/** A slot's queue (waiting first, in order), or a patient's entries in one shard (newest first). */
export async function listWaitlist(db: Knex, filter: { slotId: string } | { patientId: string }): Promise<EntryView[]> {
  return "slotId" in filter
    ? viewOf(db, "e.slot_id = ? ORDER BY (e.state = 'waiting') DESC, e.joined_at, e.id LIMIT 500", [filter.slotId])
    : viewOf(db, "e.patient_id = ? ORDER BY e.joined_at DESC LIMIT 200", [filter.patientId]);
}

async function viewOf(db: Knex | Knex.Transaction, where: string, params: readonly string[]): Promise<EntryView[]> {
  const { rows } = await db.raw<{ rows: EntryView[] }>(`${ENTRY_VIEW} WHERE ${where}`, [...params]);
  return rows;
}

/**
 * Entries of one shard by what became of them (waiting, offered, booked, lapsed, left, skipped),
 * for the `booking_waitlist_entries` gauge: read at scrape time from the database, so every
 * replica reports the same numbers (the dashboard takes the max over replicas, not the sum).
 */
export async function countWaitlistStates(db: Knex): Promise<Map<string, number>> {
  const { rows } = await db.raw<{ rows: { state: string; n: number }[] }>(
    `SELECT CASE WHEN e.state <> 'offered' THEN e.state
                 WHEN b.status = 'CONFIRMED' THEN 'booked'
                 WHEN b.status = 'PENDING' AND b.expires_at > now() THEN 'offered'
                 ELSE 'lapsed' END AS state,
            count(*)::int AS n
       FROM waitlist_entries e LEFT JOIN bookings b ON b.id = e.offer_booking_id
      GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.state, r.n]));
}
