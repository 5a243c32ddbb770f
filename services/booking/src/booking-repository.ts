import { randomUUID } from "node:crypto";
import { forbidden } from "@clinic/platform/auth";
import { inTransaction, type Knex, type PreparedStatement, runPrepared } from "@clinic/platform/db";
import { TOPICS } from "@clinic/platform/kafka";
import { OUTBOX_CHANNEL, type OutboxEvent, outboxTraceHeaders, writeOutbox } from "@clinic/platform/outbox";
import { BOOKINGS_WITH_ARCHIVE } from "./archive";
import { bookingEvent, type BookingEventType } from "./booking-events";
import { decodeBookingId, newBookingId } from "./booking-id";
import { bucketOf } from "./shard-map";
import { cancelDeadline, readPolicies, windowHoursSql } from "./booking-policy";
import type { SlotInfo } from "./slot-client";

export type StoredStatus = "PENDING" | "CONFIRMED" | "CANCELLED" | "EXPIRED";

export interface BookingRow {
  id: string;
  created_at: Date;
  slot_id: string;
  doctor_id: string;
  patient_id: string;
  patient_name: string;
  patient_contact: string;
  patient_phone: string;
  status: StoredStatus;
  slot_start_time: Date;
  expires_at: Date;
  updated_at: Date;
  /** Moves so far of this booking's line (0 for a booking made directly). */
  reschedule_count: number;
  /** The booking this one replaced by a reschedule. */
  rescheduled_from: string | null;
  /** The booking that replaced this one (this one is then CANCELLED). */
  rescheduled_to: string | null;
  /** Set when this booking is a seat offered to a waiting patient (src/waitlist.ts). */
  waitlist_entry_id: string | null;
}

/**
 * What a reader should see: a PENDING hold past its expiry is EXPIRED even before the sweeper
 * has written that down (its seat is reclaimable from that instant).
 */
export function effectiveStatus(row: Pick<BookingRow, "status" | "expires_at">, now: Date = new Date()): StoredStatus {
  return row.status === "PENDING" && row.expires_at.getTime() <= now.getTime() ? "EXPIRED" : row.status;
}

export interface NewBooking {
  id: string;
  createdAt: Date;
  slot: SlotInfo;
  patientId: string;
  patientName: string;
  patientContact: string;
  patientPhone: string;
  holdTtlMs: number;
  /** Book and confirm in one step: the seat is taken as CONFIRMED, with no hold to lapse. */
  confirm?: boolean;
  /** The booking this one replaces (a reschedule), and how many moves that one had. */
  rescheduleOf?: { id: string; count: number };
  /**
   * A reschedule saga's hold (src/reschedule-saga.ts): PENDING until SAGA_HOLD_UNTIL, so no sweep
   * lapses it while the saga runs, and no events yet (the saga announces the booking once the old
   * one is released).
   */
  sagaHold?: boolean;
}

/** The expiry of a saga's hold: never reached; the saga itself ends it (finalize or abort). */
export const SAGA_HOLD_UNTIL = new Date("9999-12-31T00:00:00.000Z");

/**
 * Not a saga's hold: nobody confirms or cancels one while its saga runs (a confirm would show the
 * patient with two confirmed seats; a cancel would let the saga release the old seat for nothing).
 */
const NOT_SAGA_HOLD = `expires_at <> '${SAGA_HOLD_UNTIL.toISOString()}'`;

export const isSagaHold = (row: BookingRow): boolean => row.status === "PENDING" && row.expires_at.getTime() === SAGA_HOLD_UNTIL.getTime();

export type CreateOutcome =
  | { kind: "created"; booking: BookingRow }
  | { kind: "existing"; booking: BookingRow }
  | { kind: "full" }
  | { kind: "retired" }
  | { kind: "already_booked"; bookingId: string };

export type TransitionOutcome =
  | { kind: "ok"; booking: BookingRow }
  | { kind: "not_found" }
  /** The booking is someone else's (only when the transition was asked for a patient). */
  | { kind: "not_owner" }
  | { kind: "wrong_state"; booking: BookingRow; status: StoredStatus }
  /** A patient's cancel of a confirmed booking inside its doctor's cancellation window. */
  | { kind: "too_late"; booking: BookingRow; deadline: Date; windowHours: number };

/** Whether the booking is the actor's to change (a patient's own, a doctor's slot's; an admin's all). */
export const ownedBy = (booking: BookingRow, actor: Actor): boolean =>
  (actor.patientId === undefined || booking.patient_id === actor.patientId) && (actor.doctorId === undefined || booking.doctor_id === actor.doctorId);

/**
 * Who asks for a transition. A patient or a doctor acts on their own bookings only (the check
 * rides in the guarded UPDATE); nobody named is an admin. `windowDefaultHours`: a patient's
 * cancel is bound by the doctor's cancellation window, this when the doctor has none of their own.
 */
export interface Actor {
  patientId?: string;
  doctorId?: string;
  windowDefaultHours?: number;
}

export interface RescheduleInput {
  /** The booking to move. */
  id: string;
  createdAt: Date;
  actor: Actor;
  /** The slot to move to (of a doctor on this shard) and the new booking's id. */
  newSlot: SlotInfo;
  newId: string;
  newCreatedAt: Date;
  holdTtlMs: number;
  /** Moves allowed per booking line (RESCHEDULE_MAX). */
  maxReschedules: number;
}

export type RescheduleOutcome =
  /** `replayed`: the booking had already been moved to this slot (a retry). */
  | { kind: "rescheduled"; booking: BookingRow; previous: BookingRow; replayed: boolean }
  | { kind: "not_found" }
  | { kind: "not_owner" }
  | { kind: "wrong_state"; status: StoredStatus }
  | { kind: "too_late"; deadline: Date; windowHours: number }
  | { kind: "limit_reached"; max: number }
  | { kind: "same_slot" }
  /** The booking is the new seat of a move still under way. */
  | { kind: "in_progress" }
  | { kind: "full" }
  | { kind: "retired" }
  | { kind: "already_booked"; bookingId: string };

export interface WaitlistEntryRow {
  id: string;
  slot_id: string;
  patient_id: string;
  patient_name: string;
  patient_contact: string;
  patient_phone: string;
  state: "waiting" | "offered" | "left" | "skipped";
  offer_booking_id: string | null;
  joined_at: Date;
  updated_at: Date;
}

export interface InventoryRow {
  slot_id: string;
  capacity: number;
  held: number;
  retired: boolean;
}

export interface ListFilter {
  patientId?: string;
  slotId?: string;
  doctorId?: string;
  statuses: readonly StoredStatus[];
}

export interface ListCursor {
  createdAt: Date;
  id: string;
}

/** migrations/20261205120000_book_seat_function.ts: the common case of `create` in one round trip. */
const BOOK_SEAT: PreparedStatement = {
  name: "book_seat",
  text: "SELECT outcome, other_id, booking FROM book_seat($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
};

/** A bookings row as `row_to_json` writes it: timestamps as ISO text. */
type BookingJson = Omit<BookingRow, "created_at" | "slot_start_time" | "expires_at" | "updated_at"> &
  Record<"created_at" | "slot_start_time" | "expires_at" | "updated_at", string>;

const bookingFromJson = (row: BookingJson): BookingRow => ({
  ...row,
  created_at: new Date(row.created_at),
  slot_start_time: new Date(row.slot_start_time),
  expires_at: new Date(row.expires_at),
  updated_at: new Date(row.updated_at),
});

/**
 * The row a new booking will be, as both ways of creating it write it. The hold's expiry comes
 * from this process's clock, which also stamped the booking id.
 */
function draftBooking(input: NewBooking, now = Date.now()): BookingRow {
  return {
    id: input.id,
    created_at: input.createdAt,
    slot_id: input.slot.id,
    doctor_id: input.slot.doctorId,
    patient_id: input.patientId,
    patient_name: input.patientName,
    patient_contact: input.patientContact,
    patient_phone: input.patientPhone,
    status: input.confirm ? "CONFIRMED" : "PENDING",
    slot_start_time: input.slot.startTime,
    // A confirmed booking has no hold; its expiry is moot and set to its creation.
    expires_at: input.sagaHold ? SAGA_HOLD_UNTIL : new Date(input.confirm ? now : now + input.holdTtlMs),
    updated_at: new Date(now),
    reschedule_count: input.rescheduleOf ? input.rescheduleOf.count + 1 : 0,
    rescheduled_from: input.rescheduleOf?.id ?? null,
    rescheduled_to: null,
    waitlist_entry_id: null,
  };
}

/** The inserted columns of a draft, in the order of the general path's INSERT and of `book_seat`'s parameters. */
const insertedValues = (row: BookingRow): (string | Date)[] => [
  row.id,
  row.created_at,
  row.slot_id,
  row.doctor_id,
  row.patient_id,
  row.patient_name,
  row.patient_contact,
  row.patient_phone,
  row.status,
  row.slot_start_time,
  row.expires_at,
];

/** Thrown inside a transaction to roll it back and hand a result to the caller. */
export class Rollback<T> extends Error {
  constructor(readonly outcome: T) {
    super("rollback");
  }
}

/** A booking that is holding a seat right now. */
const ACTIVE = "(b.status = 'CONFIRMED' OR (b.status = 'PENDING' AND b.expires_at > now()))";

/** The patient's booking that holds a seat of the slot right now, if any (one per slot and patient). */
export async function activeBookingOf(executor: Knex | Knex.Transaction, slotId: string, patientId: string): Promise<string | undefined> {
  const { rows } = await executor.raw<{ rows: { id: string }[] }>(
    `SELECT b.id FROM bookings b WHERE b.slot_id = ? AND b.patient_id = ? AND ${ACTIVE} LIMIT 1`,
    [slotId, patientId],
  );
  return rows[0]?.id;
}

const STATUS_CONDITION: Record<StoredStatus, string> = {
  PENDING: "(b.status = 'PENDING' AND b.expires_at > now())",
  CONFIRMED: "b.status = 'CONFIRMED'",
  CANCELLED: "b.status = 'CANCELLED'",
  EXPIRED: "(b.status = 'EXPIRED' OR (b.status = 'PENDING' AND b.expires_at <= now()))",
};

/**
 * Told which slots' seats a committed transaction changed (to drop their cached availability).
 * Must not throw: the seat change has committed and the caller gets its answer regardless.
 */
export type SeatsChanged = (slotIds: readonly string[]) => Promise<void>;

/**
 * SQL of one booking shard. Every seat change is one transaction in this shard; the inventory
 * row's `held <= capacity` check is the last line of defence against overbooking. Nothing here
 * reads a cache: seats are taken in PostgreSQL only.
 */
export class BookingShardRepository {
  constructor(
    readonly index: number,
    readonly db: Knex,
    /** Kafka topic of the booking events this shard's outbox records. */
    readonly eventsTopic: string = TOPICS.bookingEvents,
    /** Called after the commit of every transaction that changed seats. */
    readonly seatsChanged: SeatsChanged = async () => undefined,
    /**
     * The shard's replicas (HAProxy's replica address; the primary where there is none), for
     * reads that may trail the primary by a moment: see `list`.
     */
    readonly replicaDb: Knex = db,
    /** How long a seat offered to a waiting patient is held for them (WAITLIST_OFFER_TTL_MS). */
    readonly waitlistOfferTtlMs = 600_000,
  ) {}

  /**
   * Seats just given back (a cancel, a lapsed hold, a move, a raised capacity) go to the slot's
   * waiting patients first, in the same transaction that freed them: each is held for the next
   * patient in line as a PENDING booking of its own (`waitlist_entry_id`), for
   * `waitlistOfferTtlMs`, announced by booking.created with `waitlist_offer` (the notifier tells
   * the patient). A seat is therefore never free while someone waits: a walk-in booking finds the
   * slot full, and one seat goes to one patient at a time. An offer that lapses frees its seat
   * again, and this runs again for the next in line. The callers hold the slot's inventory row
   * (they changed it), so offers of one slot never run side by side.
   */
  async offerFreedSeats(trx: Knex.Transaction, slotIds: readonly string[]): Promise<void> {
    if (slotIds.length === 0) return;
    const { rows: waiting } = await trx.raw<{ rows: { slot_id: string }[] }>(
      "SELECT DISTINCT slot_id FROM waitlist_entries WHERE slot_id = ANY(?::uuid[]) AND state = 'waiting' ORDER BY slot_id",
      [[...slotIds]],
    );
    for (const { slot_id: slotId } of waiting) {
      for (;;) {
        const { rows: next } = await trx.raw<{ rows: WaitlistEntryRow[] }>(
          "SELECT * FROM waitlist_entries WHERE slot_id = ? AND state = 'waiting' ORDER BY joined_at, id LIMIT 1 FOR UPDATE",
          [slotId],
        );
        const entry = next[0];
        if (!entry) break;
        if (await activeBookingOf(trx, slotId, entry.patient_id)) {
          // They hold a seat of this slot already (booked before joining, or by an admin).
          await trx.raw("UPDATE waitlist_entries SET state = 'skipped', updated_at = now() WHERE id = ?", [entry.id]);
          continue;
        }
        if (!(await this.takeSeat(trx, slotId))) break;
        const { rows: inventory } = await trx.raw<{ rows: { doctor_id: string }[] }>("SELECT doctor_id FROM slot_inventory WHERE slot_id = ?", [slotId]);
        const id = newBookingId(bucketOf(inventory[0]!.doctor_id));
        const { rows: offered } = await trx.raw<{ rows: BookingRow[] }>(
          `INSERT INTO bookings (id, created_at, slot_id, doctor_id, patient_id, patient_name, patient_contact, patient_phone,
                                 status, slot_start_time, expires_at, waitlist_entry_id)
           SELECT ?, ?, i.slot_id, i.doctor_id, ?, ?, ?, ?, 'PENDING', i.start_time, now() + make_interval(secs => ?), ?
             FROM slot_inventory i WHERE i.slot_id = ?
           RETURNING *`,
          [id, decodeBookingId(id)!.createdAt, entry.patient_id, entry.patient_name, entry.patient_contact, entry.patient_phone, this.waitlistOfferTtlMs / 1000, entry.id, slotId],
        );
        await trx.raw("UPDATE waitlist_entries SET state = 'offered', offer_booking_id = ?, updated_at = now() WHERE id = ?", [id, entry.id]);
        await writeOutbox(trx, [bookingEvent(this.eventsTopic, "booking.created", offered[0]!)]);
      }
    }
  }

  /** Inside a transaction pass it: a second pool connection per transaction can starve the pool. */
  async findById(id: string, createdAt: Date, executor: Knex | Knex.Transaction = this.db): Promise<BookingRow | undefined> {
    // created_at (from the UUIDv7) lets PostgreSQL prune to the one partition holding the row.
    const { rows } = await executor.raw<{ rows: BookingRow[] }>("SELECT * FROM bookings WHERE id = ? AND created_at = ?", [id, createdAt]);
    return rows[0];
  }

  /**
   * Takes a seat and records a PENDING hold, atomically: a conditional increment of the slot's
   * inventory row (which also serializes every booking of that slot), the duplicate check for
   * this patient under that lock, the booking row and its outbox event, in one transaction.
   */
  async create(input: NewBooking): Promise<CreateOutcome> {
    const quick = await this.createInOneStatement(input);
    if (quick) {
      if (quick.kind === "created") await this.seatsChanged([input.slot.id]);
      return quick;
    }
    let outcome: CreateOutcome;
    try {
      outcome = await inTransaction(this.db, (trx) => this.createInTransaction(trx, input));
    } catch (err) {
      // Every other outcome rolled back, lapsed holds reclaimed on the way included: no change.
      if (err instanceof Rollback) return err.outcome as CreateOutcome;
      throw err;
    }
    await this.seatsChanged([input.slot.id]);
    return outcome;
  }

  /**
   * Moves an active booking to another slot of this shard in one transaction: the old booking is
   * locked, checked (owner, state, the patient's cancellation window, the cap on moves), the new
   * seat is taken as `create` takes one (the new booking keeps the old one's status: a confirmed
   * booking stays confirmed, a hold gets a fresh one), then the old booking is cancelled with
   * `rescheduled_to` and its seat given back. Either both happen or neither: the patient never
   * holds two seats, and never loses the first without the second.
   */
  async reschedule(input: RescheduleInput): Promise<RescheduleOutcome> {
    let outcome: RescheduleOutcome;
    try {
      outcome = await inTransaction(this.db, async (trx): Promise<RescheduleOutcome> => {
        const movable = await this.lockMovable(trx, { ...input, newSlotId: input.newSlot.id });
        if (movable.kind !== "movable") {
          if (movable.kind === "moved_before") {
            // A retry of that very move answers its result.
            const next = await this.findMovedTo(trx, movable.to);
            if (next?.slot_id === input.newSlot.id) return { kind: "rescheduled", booking: next, previous: movable.previous, replayed: true };
            return { kind: "wrong_state", status: "CANCELLED" };
          }
          return movable;
        }
        const { previous, status } = movable;
        const created = await this.createInTransaction(trx, {
          id: input.newId,
          createdAt: input.newCreatedAt,
          slot: input.newSlot,
          patientId: previous.patient_id,
          patientName: previous.patient_name,
          patientContact: previous.patient_contact,
          patientPhone: previous.patient_phone,
          holdTtlMs: input.holdTtlMs,
          confirm: status === "CONFIRMED",
          rescheduleOf: { id: previous.id, count: previous.reschedule_count },
        });
        if (created.kind !== "created") throw new Rollback<RescheduleOutcome | CreateOutcome>(created);
        const { rows: cancelled } = await trx.raw<{ rows: BookingRow[] }>(
          "UPDATE bookings SET status = 'CANCELLED', rescheduled_to = ?, updated_at = now() WHERE id = ? AND created_at = ? RETURNING *",
          [input.newId, previous.id, previous.created_at],
        );
        await trx.raw("UPDATE slot_inventory SET held = held - 1, updated_at = now() WHERE slot_id = ?", [previous.slot_id]);
        await writeOutbox(trx, [bookingEvent(this.eventsTopic, "booking.cancelled", cancelled[0]!)]);
        await this.offerFreedSeats(trx, [previous.slot_id]);
        return { kind: "rescheduled", booking: created.booking, previous: cancelled[0]!, replayed: false };
      });
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
      const rolledBack = err.outcome as RescheduleOutcome | CreateOutcome;
      // `existing`: the new id was taken already, which a fresh id never is; say so, never pretend.
      if (rolledBack.kind === "existing" || rolledBack.kind === "created") throw new Error(`reschedule of ${input.id}: new booking id ${input.newId} exists`, { cause: err });
      return rolledBack;
    }
    if (outcome.kind === "rescheduled" && !outcome.replayed) await this.seatsChanged([outcome.previous.slot_id, outcome.booking.slot_id]);
    return outcome;
  }

  /**
   * The booking to move, locked for the rest of the transaction, if the actor may move it to the
   * slot: theirs, active, before the patient's cancellation window, under the cap on moves, not
   * already for that slot. `moved_before`: it was moved (the caller checks whether to that slot).
   */
  async lockMovable(
    trx: Knex.Transaction,
    input: Pick<RescheduleInput, "id" | "createdAt" | "actor" | "maxReschedules"> & { newSlotId: string },
  ): Promise<{ kind: "movable"; previous: BookingRow; status: "PENDING" | "CONFIRMED" } | { kind: "moved_before"; previous: BookingRow; to: string } | Exclude<RescheduleOutcome, { kind: "rescheduled" }>> {
    const { rows } = await trx.raw<{ rows: (BookingRow & { window_hours: number })[] }>(
      `SELECT bookings.*, ${windowHoursSql("bookings")} AS window_hours FROM bookings WHERE id = ? AND created_at = ? FOR UPDATE`,
      [input.actor.windowDefaultHours ?? 0, input.id, input.createdAt],
    );
    if (!rows[0]) return { kind: "not_found" };
    const { window_hours: windowHours, ...previous } = rows[0];
    if (!ownedBy(previous, input.actor)) return { kind: "not_owner" };
    if (previous.rescheduled_to) return { kind: "moved_before", previous, to: previous.rescheduled_to };
    if (isSagaHold(previous)) return { kind: "in_progress" };
    const status = effectiveStatus(previous);
    if (status !== "PENDING" && status !== "CONFIRMED") return { kind: "wrong_state", status };
    if (status === "CONFIRMED" && input.actor.windowDefaultHours !== undefined) {
      const deadline = cancelDeadline(previous.slot_start_time, windowHours);
      if (Date.now() >= deadline.getTime()) return { kind: "too_late", deadline, windowHours };
    }
    if (previous.reschedule_count >= input.maxReschedules) return { kind: "limit_reached", max: input.maxReschedules };
    if (previous.slot_id === input.newSlotId) return { kind: "same_slot" };
    return { kind: "movable", previous, status };
  }

  /** The booking a reschedule made, by its id (its creation time is in the id). */
  private async findMovedTo(trx: Knex.Transaction, id: string): Promise<BookingRow | undefined> {
    const createdAt = decodeBookingId(id)?.createdAt;
    return createdAt ? this.findById(id, createdAt, trx) : undefined;
  }

  /**
   * The general path's booking inside the caller's transaction (a reschedule takes its new seat
   * this way): a seat, the duplicate check under the seat's row lock, the row, its events. Any
   * other outcome throws a Rollback carrying it, so nothing of the transaction stays.
   */
  async createInTransaction(trx: Knex.Transaction, input: NewBooking): Promise<CreateOutcome> {
    const draft = draftBooking(input);
    let seat = await this.takeSeat(trx, input.slot.id);
    if (!seat) {
      const inventory = await this.inventory(trx, input.slot.id);
      if (!inventory) {
        await this.insertInventory(trx, input.slot, input.slot.capacity);
      } else if (inventory.retired) {
        throw new Rollback<CreateOutcome>({ kind: "retired" });
      } else {
        // Full on paper: give back the seats of lapsed holds before saying no.
        await this.reclaimExpired(trx, input.slot.id);
      }
      seat = await this.takeSeat(trx, input.slot.id);
      if (!seat) throw new Rollback<CreateOutcome>({ kind: "full" });
    }

    const duplicate = await activeBookingOf(trx, input.slot.id, input.patientId);
    if (duplicate === input.id) {
      // A concurrent retry with the same idempotency key created this very booking first.
      const existing = await this.findById(input.id, input.createdAt, trx);
      throw new Rollback<CreateOutcome>({ kind: "existing", booking: existing! });
    }
    if (duplicate) throw new Rollback<CreateOutcome>({ kind: "already_booked", bookingId: duplicate });

    const { rows } = await trx.raw<{ rows: BookingRow[] }>(
      `INSERT INTO bookings (id, created_at, slot_id, doctor_id, patient_id, patient_name, patient_contact,
                             patient_phone, status, slot_start_time, expires_at, reschedule_count, rescheduled_from)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT ON CONSTRAINT bookings_pkey DO NOTHING
       RETURNING *`,
      [...insertedValues(draft), draft.reschedule_count, draft.rescheduled_from],
    );
    const booking = rows[0];
    if (!booking) {
      // A concurrent retry with the same idempotency key won; give the seat back.
      const existing = await this.findById(input.id, input.createdAt, trx);
      if (!existing) throw new Error(`booking ${input.id} conflicted but cannot be read`);
      throw new Rollback<CreateOutcome>({ kind: "existing", booking: existing });
    }
    if (!input.sagaHold) await writeOutbox(trx, this.creationEvents(booking));
    return { kind: "created", booking } satisfies CreateOutcome;
  }

  /**
   * `create`'s common case (the slot's inventory exists and has a free seat) as one prepared
   * statement; undefined when the general transaction must settle it. The events are encoded here
   * from what the row will hold.
   */
  private async createInOneStatement(input: NewBooking): Promise<CreateOutcome | undefined> {
    const draft = draftBooking(input);
    const events = this.creationEvents(draft);
    const rows = await runPrepared<{ outcome: string; other_id: string | null; booking: BookingJson | null }>(this.db, BOOK_SEAT, [
      ...insertedValues(draft),
      this.eventsTopic,
      events.map((e) => e.eventId ?? randomUUID()),
      events.map((e) => e.type),
      events.map((e) => Buffer.from(e.payload)),
      outboxTraceHeaders(),
      OUTBOX_CHANNEL,
    ]);
    const result = rows[0];
    switch (result?.outcome) {
      case "created":
      case "existing":
        if (!result.booking) throw new Error(`book_seat answered ${result.outcome} without the booking ${input.id}`);
        return { kind: result.outcome, booking: bookingFromJson(result.booking) };
      case "already_booked":
        return { kind: "already_booked", bookingId: result.other_id! };
      case "full":
        return { kind: "full" };
      case "retired":
        return { kind: "retired" };
      case "no_seat":
        return undefined;
      default:
        throw new Error(`book_seat answered ${JSON.stringify(result)}`);
    }
  }

  /** A new booking's events: an instant booking is still created, then confirmed, as consumers expect. */
  creationEvents(row: BookingRow): OutboxEvent[] {
    return [
      bookingEvent(this.eventsTopic, "booking.created", row),
      ...(row.status === "CONFIRMED" ? [bookingEvent(this.eventsTopic, "booking.confirmed", row)] : []),
    ];
  }

  /** `patientId`: only that patient's booking (undefined: anyone's, for admins). */
  async confirm(id: string, createdAt: Date, actor: Actor = {}): Promise<TransitionOutcome> {
    return this.transition(id, createdAt, actor, "CONFIRMED", `status = 'PENDING' AND expires_at > now() AND ${NOT_SAGA_HOLD}`, [], "booking.confirmed", false);
  }

  /**
   * Cancelling a live hold or a confirmed booking gives its seat back. A patient's cancel of a
   * confirmed booking must come before the doctor's cancellation window: checked in the same
   * UPDATE, against the policy committed at that moment.
   */
  async cancel(id: string, createdAt: Date, actor: Actor = {}): Promise<TransitionOutcome> {
    const windowed = actor.windowDefaultHours !== undefined;
    const confirmed = windowed ? `(status = 'CONFIRMED' AND now() < slot_start_time - make_interval(hours => ${windowHoursSql("bookings")}))` : "status = 'CONFIRMED'";
    return this.transition(
      id,
      createdAt,
      actor,
      "CANCELLED",
      `(${confirmed} OR (status = 'PENDING' AND expires_at > now() AND ${NOT_SAGA_HOLD}))`,
      windowed ? [actor.windowDefaultHours!] : [],
      "booking.cancelled",
      true,
    );
  }

  /**
   * One guarded UPDATE decides the race: of two concurrent transitions on one booking, the
   * second waits for the row lock, re-reads the committed row, and its guard no longer matches.
   * The owner check rides in the same UPDATE, so the happy path stays one statement.
   */
  private async transition(
    id: string,
    createdAt: Date,
    actor: Actor,
    to: StoredStatus,
    guard: string,
    guardParams: readonly number[],
    event: BookingEventType,
    releasesSeat: boolean,
  ): Promise<TransitionOutcome> {
    const outcome = await inTransaction(this.db, async (trx): Promise<TransitionOutcome> => {
      const owner = [
        ...(actor.patientId === undefined ? [] : [" AND patient_id = ?"]),
        ...(actor.doctorId === undefined ? [] : [" AND doctor_id = ?"]),
      ].join("");
      const ownerParams = [...(actor.patientId === undefined ? [] : [actor.patientId]), ...(actor.doctorId === undefined ? [] : [actor.doctorId])];
      const guarded = async (): Promise<BookingRow | undefined> => {
        const { rows } = await trx.raw<{ rows: BookingRow[] }>(
          `UPDATE bookings SET status = ?, updated_at = now() WHERE id = ? AND created_at = ? AND ${guard}${owner} RETURNING *`,
          [to, id, createdAt, ...guardParams, ...ownerParams],
        );
        return rows[0];
      };
      let booking = await guarded();
      if (!booking) {
        // The guard judged the row as this statement's snapshot saw it, and a row it rejects is not
        // waited for: a transition that began earlier (a confirm started just before the hold
        // lapsed) may commit right after. Lock the row as it is now and ask once more, so the
        // answer rests on a row nobody else can change until this transaction ends.
        const { rows: found } = await trx.raw<{ rows: (BookingRow & { guarded_at: Date })[] }>(
          "SELECT *, now() AS guarded_at FROM bookings WHERE id = ? AND created_at = ? FOR UPDATE",
          [id, createdAt],
        );
        if (!found[0]) return { kind: "not_found" };
        booking = await guarded();
        if (!booking) {
          const { guarded_at: guardedAt, ...current } = found[0];
          if (!ownedBy(current, actor)) return { kind: "not_owner" };
          // The hold's lapse judged at the guard's instant (the transaction's now()), not by this
          // process's clock a moment later.
          const status = effectiveStatus(current, guardedAt);
          if (to === "CANCELLED" && status === "CONFIRMED" && actor.windowDefaultHours !== undefined) {
            const windowHours = (await readPolicies(trx, [current.doctor_id], actor.windowDefaultHours)).get(current.doctor_id)!.cancellationWindowHours;
            return { kind: "too_late", booking: current, deadline: cancelDeadline(current.slot_start_time, windowHours), windowHours };
          }
          return { kind: "wrong_state", booking: current, status };
        }
      }
      if (releasesSeat) {
        await trx.raw("UPDATE slot_inventory SET held = held - 1, updated_at = now() WHERE slot_id = ?", [booking.slot_id]);
        await this.offerFreedSeats(trx, [booking.slot_id]);
      }
      await writeOutbox(trx, [bookingEvent(this.eventsTopic, event, booking)]);
      return { kind: "ok", booking } as const;
    });
    if (outcome.kind === "ok" && releasesSeat) await this.seatsChanged([outcome.booking.slot_id]);
    return outcome;
  }

  /**
   * One page of bookings, newest first. `from: "replica"` reads a replica, which may miss the
   * last moment's changes: for lists nobody has just written to (an admin's or a doctor's view).
   * A patient's own list stays on the primary, so a booking shows there as soon as it is made.
   */
  async list(filter: ListFilter, cursor: ListCursor | undefined, limit: number, from: "primary" | "replica" = "primary"): Promise<BookingRow[]> {
    const where: string[] = [];
    const params: (string | Date)[] = [];
    if (filter.patientId) {
      where.push("b.patient_id = ?");
      params.push(filter.patientId);
    }
    if (filter.slotId) {
      where.push("b.slot_id = ?");
      params.push(filter.slotId);
    }
    if (filter.doctorId) {
      where.push("b.doctor_id = ?");
      params.push(filter.doctorId);
    }
    if (filter.statuses.length > 0) where.push(`(${filter.statuses.map((s) => STATUS_CONDITION[s]).join(" OR ")})`);
    if (cursor) {
      where.push("(b.created_at, b.id) < (?, ?)");
      params.push(cursor.createdAt, cursor.id);
    }
    // A patient's history includes their archived bookings (src/archive.ts).
    const relation = filter.patientId ? BOOKINGS_WITH_ARCHIVE : "bookings";
    const { rows } = await (from === "replica" ? this.replicaDb : this.db).raw<{ rows: BookingRow[] }>(
      `SELECT b.* FROM ${relation} b ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY b.created_at DESC, b.id DESC LIMIT ?`,
      [...params, limit],
    );
    return rows;
  }

  /** Seats per slot as a reader should see them: lapsed holds do not count. */
  async availability(slotIds: readonly string[]): Promise<InventoryRow[]> {
    if (slotIds.length === 0) return [];
    const { rows } = await this.db.raw<{ rows: InventoryRow[] }>(
      `SELECT i.slot_id, i.capacity, i.retired,
              i.held - (SELECT count(*) FROM bookings b
                         WHERE b.slot_id = i.slot_id AND b.status = 'PENDING' AND b.expires_at <= now())::int AS held
         FROM slot_inventory i WHERE i.slot_id = ANY(?::uuid[])`,
      [[...slotIds]],
    );
    return rows;
  }

  /** Inventory counters and bookings, for consistency checks (tests, load-test verification). */
  async audit(): Promise<{ slot_id: string; capacity: number; held: number; active: number; pending_lapsed: number }[]> {
    const { rows } = await this.db.raw(
      `SELECT i.slot_id, i.capacity, i.held,
              (SELECT count(*) FROM bookings b WHERE b.slot_id = i.slot_id AND ${ACTIVE})::int AS active,
              (SELECT count(*) FROM bookings b WHERE b.slot_id = i.slot_id AND b.status = 'PENDING' AND b.expires_at <= now())::int AS pending_lapsed
         FROM slot_inventory i`,
    );
    return rows as { slot_id: string; capacity: number; held: number; active: number; pending_lapsed: number }[];
  }

  /**
   * Sets a slot's capacity, creating its inventory row if no booking made it yet. Refused
   * (undefined) when more seats are held than the new capacity, and PERMISSION_DENIED when the
   * slot's row names another doctor than `slot.doctorId`.
   */
  async setCapacity(slot: SlotInfo, capacity: number): Promise<InventoryRow | undefined> {
    // Even a refused change commits: the inventory row may be new, lapsed holds were reclaimed.
    const row = await inTransaction(this.db, async (trx) => {
      await this.insertInventory(trx, slot, capacity);
      await this.requireSlotOf(trx, slot.id, slot.doctorId);
      await this.reclaimExpired(trx, slot.id);
      const { rows } = await trx.raw<{ rows: InventoryRow[] }>(
        `UPDATE slot_inventory SET capacity = ?, updated_at = now()
          WHERE slot_id = ? AND held <= ? RETURNING slot_id, capacity, held, retired`,
        [capacity, slot.id, capacity],
      );
      if (rows[0]) await this.offerFreedSeats(trx, [slot.id]);
      return rows[0];
    });
    await this.seatsChanged([slot.id]);
    return row;
  }

  /**
   * Closes a slot for booking before the slot service deletes it. Refused (false) while it has
   * active bookings; the retired row stays so a late request cannot book a deleted slot.
   * PERMISSION_DENIED when the slot's row names another doctor.
   */
  async retire(slotId: string, doctorId: string): Promise<boolean> {
    const retired = await inTransaction(this.db, async (trx) => {
      await trx.raw(
        `INSERT INTO slot_inventory (slot_id, doctor_id, start_time, end_time, capacity, held, retired)
         VALUES (?, ?, '-infinity', 'infinity', 0, 0, true) ON CONFLICT (slot_id) DO NOTHING`,
        [slotId, doctorId],
      );
      await this.requireSlotOf(trx, slotId, doctorId);
      await this.reclaimExpired(trx, slotId);
      const { rowCount } = await trx.raw<{ rowCount: number }>(
        "UPDATE slot_inventory SET retired = true, updated_at = now() WHERE slot_id = ? AND held = 0",
        [slotId],
      );
      return rowCount > 0;
    });
    await this.seatsChanged([slotId]);
    return retired;
  }

  async countActive(doctorId: string): Promise<number> {
    const { rows } = await this.db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM bookings b
         JOIN slot_inventory i ON i.slot_id = b.slot_id
        WHERE b.doctor_id = ? AND i.end_time > now() AND ${ACTIVE}`,
      [doctorId],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Expires lapsed holds in batches and gives their seats back. One sweeper per shard at a time
   * (advisory lock), rows locked by a concurrent confirm or cancel are skipped, not waited for.
   * Returns how many bookings expired.
   */
  async sweepExpired(batchSize: number): Promise<BookingRow[]> {
    const expired = await inTransaction(this.db, async (trx) => {
      const { rows: lock } = await trx.raw<{ rows: { locked: boolean }[] }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('booking-expiry-sweeper')) AS locked",
      );
      if (!lock[0]?.locked) return [];
      const { rows } = await trx.raw<{ rows: BookingRow[] }>(
        `UPDATE bookings b SET status = 'EXPIRED', updated_at = now()
          WHERE (b.id, b.created_at) IN (
                SELECT id, created_at FROM bookings
                 WHERE status = 'PENDING' AND expires_at <= now()
                 ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED)
        RETURNING b.*`,
        [batchSize],
      );
      await this.releaseSeats(trx, rows);
      return rows;
    });
    if (expired.length > 0) await this.seatsChanged([...new Set(expired.map((row) => row.slot_id))]);
    return expired;
  }

  /** Deletes idempotency keys older than the retention; a retry after that creates anew. */
  async purgeIdempotencyKeys(olderThanHours: number): Promise<number> {
    const { rowCount } = await this.db.raw<{ rowCount: number }>(
      "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => ?)",
      [olderThanHours],
    );
    return rowCount;
  }

  /**
   * Records an idempotency key (on the shard its own hash picks) with the booking id the first
   * request will use. A retry gets the recorded id back, so every attempt targets one booking.
   */
  async claimIdempotencyKey(
    patientId: string,
    key: string,
    requestHash: string,
    bookingId: string,
  ): Promise<{ bookingId: string; requestHash: string }> {
    const { rows } = await this.db.raw<{ rows: { booking_id: string; request_hash: string }[] }>(
      `WITH inserted AS (
         INSERT INTO idempotency_keys (patient_id, key, request_hash, booking_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (patient_id, key) DO NOTHING RETURNING booking_id, request_hash)
       SELECT booking_id, request_hash FROM inserted
       UNION ALL
       SELECT booking_id, request_hash FROM idempotency_keys WHERE patient_id = ? AND key = ?
       LIMIT 1`,
      [patientId, key, requestHash, bookingId, patientId, key],
    );
    let row = rows[0];
    if (!row) {
      // A concurrent request committed the key while our insert waited on it; that row is not
      // in this statement's snapshot, but a new statement sees it.
      const again = await this.db.raw<{ rows: { booking_id: string; request_hash: string }[] }>(
        "SELECT booking_id, request_hash FROM idempotency_keys WHERE patient_id = ? AND key = ?",
        [patientId, key],
      );
      row = again.rows[0];
    }
    if (!row) throw new Error("idempotency key neither inserted nor found");
    return { bookingId: row.booking_id, requestHash: row.request_hash };
  }

  private async takeSeat(trx: Knex.Transaction, slotId: string): Promise<boolean> {
    const { rowCount } = await trx.raw<{ rowCount: number }>(
      `UPDATE slot_inventory SET held = held + 1, updated_at = now()
        WHERE slot_id = ? AND held < capacity AND NOT retired`,
      [slotId],
    );
    return rowCount > 0;
  }

  private async inventory(trx: Knex.Transaction, slotId: string): Promise<InventoryRow | undefined> {
    const { rows } = await trx.raw<{ rows: InventoryRow[] }>(
      "SELECT slot_id, capacity, held, retired FROM slot_inventory WHERE slot_id = ?",
      [slotId],
    );
    return rows[0];
  }

  /**
   * Locks the slot's inventory row (it exists by now) and refuses it unless it is `doctorId`'s.
   * The doctor id comes with the request and picks the shard; a shard holds many doctors' slots,
   * so a doctor naming themselves must not reach another doctor's slot on the same shard.
   */
  private async requireSlotOf(trx: Knex.Transaction, slotId: string, doctorId: string): Promise<void> {
    const { rows } = await trx.raw<{ rows: { doctor_id: string }[] }>(
      "SELECT doctor_id FROM slot_inventory WHERE slot_id = ? FOR UPDATE",
      [slotId],
    );
    if (rows[0]?.doctor_id !== doctorId) throw forbidden(`slot ${slotId} is not a slot of doctor ${doctorId}`);
  }

  private async insertInventory(trx: Knex.Transaction, slot: SlotInfo, capacity: number): Promise<void> {
    await trx.raw(
      `INSERT INTO slot_inventory (slot_id, doctor_id, start_time, end_time, capacity)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (slot_id) DO NOTHING`,
      [slot.id, slot.doctorId, slot.startTime, slot.endTime, capacity],
    );
  }

  /** Expires one slot's lapsed holds inside the caller's transaction. */
  private async reclaimExpired(trx: Knex.Transaction, slotId: string): Promise<void> {
    const { rows } = await trx.raw<{ rows: BookingRow[] }>(
      `UPDATE bookings b SET status = 'EXPIRED', updated_at = now()
        WHERE (b.id, b.created_at) IN (
              SELECT id, created_at FROM bookings
               WHERE slot_id = ? AND status = 'PENDING' AND expires_at <= now()
               FOR UPDATE SKIP LOCKED)
      RETURNING b.*`,
      [slotId],
    );
    await this.releaseSeats(trx, rows);
  }

  private async releaseSeats(trx: Knex.Transaction, expired: readonly BookingRow[]): Promise<void> {
    if (expired.length === 0) return;
    const perSlot = new Map<string, number>();
    for (const row of expired) perSlot.set(row.slot_id, (perSlot.get(row.slot_id) ?? 0) + 1);
    // Slot order keeps lock acquisition consistent between concurrent batches.
    for (const slotId of [...perSlot.keys()].sort()) {
      await trx.raw("UPDATE slot_inventory SET held = held - ?, updated_at = now() WHERE slot_id = ?", [perSlot.get(slotId) ?? 0, slotId]);
    }
    await writeOutbox(trx, expired.map((row) => bookingEvent(this.eventsTopic, "booking.expired", row)));
    await this.offerFreedSeats(trx, [...perSlot.keys()].sort());
  }
}
