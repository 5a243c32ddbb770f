import { randomUUID } from "node:crypto";
import { inTransaction, type Knex } from "@clinic/platform/db";
import type { Logger } from "@clinic/platform/logging";
import { writeOutbox, type OutboxEvent } from "@clinic/platform/outbox";
import { eventsV1 } from "@clinic/proto";
import { encodeChecked } from "@clinic/proto/shapes";
import { decodeBookingId } from "./booking-id";
import { bookingEvent } from "./booking-events";
import { effectiveStatus, Rollback, SAGA_HOLD_UNTIL, type BookingRow, type BookingShardRepository, type CreateOutcome, type RescheduleInput, type RescheduleOutcome } from "./booking-repository";
import type { BookingRouter } from "./booking-router";

/**
 * A reschedule to another doctor's slot. The two seats may live in two shards (bookings are
 * sharded by doctor), so no one transaction covers both: the move is a saga of steps, each one
 * transaction in one shard that also writes the next step into that shard's outbox (topic
 * RESCHEDULE_TOPIC, keyed by saga id, consumed by whichever booking replica comes next):
 *
 *   begin        (old shard)  lock and check the booking, record the saga, → take_seat
 *   take_seat    (new shard)  hold a seat for the patient as a saga hold → release_old,
 *                             or no seat → aborted
 *   release_old  (old shard)  the booking still active: cancel it (rescheduled_to), its seat back
 *                             → finalize; no longer active (cancelled, lapsed) → abort
 *   finalize     (new shard)  the saga hold becomes the booking, with the old one's status, and is
 *                             announced (booking.created/confirmed) → done
 *   abort        (new shard)  the saga hold's seat back → aborted
 *   done/aborted (old shard)  the saga's record says how it ended
 *
 * What a reader can see: the saga hold is PENDING (never CONFIRMED) until the old booking is
 * cancelled, so the patient never has two confirmed seats; the old booking is cancelled only once
 * the new seat is held, and a saga hold never lapses (SAGA_HOLD_UNTIL), so the patient never
 * loses the first seat without the second. Every step is idempotent (guarded by the saga's state
 * or the hold's), so a redelivered step, or one retried after the booking service was killed
 * between steps, changes nothing twice.
 */

export type SagaState = "seat_requested" | "old_released" | "done" | "failed";

export type BeginOutcome =
  | { kind: "begun"; sagaId: string }
  /** A saga for this booking is already under way (to `newSlotId`). */
  | { kind: "in_flight"; sagaId: string; newSlotId: string }
  /** Moved already: to this booking. */
  | { kind: "moved_before"; to: string }
  | Exclude<RescheduleOutcome, { kind: "rescheduled" }>;

/** Why a saga failed, as the reschedule's answer names it. */
export type SagaFailure = "SLOT_FULL" | "ALREADY_BOOKED" | "SLOT_NOT_FOUND" | "BOOKING_NO_LONGER_ACTIVE";

const NO_SEAT: Record<Exclude<CreateOutcome["kind"], "created" | "existing">, SagaFailure> = {
  full: "SLOT_FULL",
  already_booked: "ALREADY_BOOKED",
  retired: "SLOT_NOT_FOUND",
};

type Step = NonNullable<eventsV1.RescheduleCommand["step"]>;

export class RescheduleSaga {
  constructor(
    private readonly router: BookingRouter<BookingShardRepository>,
    private readonly topic: string,
    private readonly holdTtlMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The command for a saga's next step, keyed by saga id so its steps stay in order; checked
   * against its proto type before it is encoded, as the services' events are.
   */
  private command(sagaId: string, bookingId: string, step: Step): OutboxEvent {
    const command: eventsV1.RescheduleCommand = { commandId: randomUUID(), occurTime: new Date(), sagaId, bookingId, step };
    const payload = encodeChecked("clinic.events.v1.RescheduleCommand", eventsV1.RescheduleCommand, command);
    return { eventId: command.commandId, topic: this.topic, key: sagaId, type: `reschedule.${step.$case}`, payload };
  }

  /** Step one, on the old booking's shard: the same checks as a move within a shard, then the saga. */
  async begin(input: RescheduleInput): Promise<BeginOutcome> {
    const shard = this.router.forBookingId(input.id).shard;
    return inTransaction(shard.db, async (trx): Promise<BeginOutcome> => {
      const movable = await shard.lockMovable(trx, { ...input, newSlotId: input.newSlot.id });
      if (movable.kind === "moved_before") return { kind: "moved_before", to: movable.to };
      if (movable.kind !== "movable") return movable;
      const { rows: inFlight } = await trx.raw<{ rows: { id: string; new_slot_id: string }[] }>(
        "SELECT id, new_slot_id FROM reschedule_sagas WHERE booking_id = ? AND state IN ('seat_requested', 'old_released')",
        [input.id],
      );
      if (inFlight[0]) return { kind: "in_flight", sagaId: inFlight[0].id, newSlotId: inFlight[0].new_slot_id };
      const { previous } = movable;
      await trx.raw(
        "INSERT INTO reschedule_sagas (id, booking_id, booking_created_at, new_slot_id, state) VALUES (?, ?, ?, ?, 'seat_requested')",
        [input.newId, previous.id, previous.created_at, input.newSlot.id],
      );
      const slot = input.newSlot;
      await writeOutbox(trx, [
        this.command(input.newId, previous.id, {
          $case: "takeSeat",
          value: {
            slotId: slot.id,
            doctorId: slot.doctorId,
            slotStartTime: slot.startTime,
            slotEndTime: slot.endTime,
            slotCapacity: slot.capacity,
            patientId: previous.patient_id,
            patientName: previous.patient_name,
            patientContact: previous.patient_contact,
            patientPhone: previous.patient_phone,
            rescheduleCount: previous.reschedule_count,
          },
        }),
      ]);
      return { kind: "begun", sagaId: input.newId };
    });
  }

  /** Where a saga stands, from its record on the old booking's shard. */
  async state(bookingId: string, sagaId: string): Promise<{ state: SagaState; failure: SagaFailure | null } | undefined> {
    const { rows } = await this.router.forBookingId(bookingId).shard.db.raw<{ rows: { state: SagaState; failure: SagaFailure | null }[] }>(
      "SELECT state, failure FROM reschedule_sagas WHERE id = ?",
      [sagaId],
    );
    return rows[0];
  }

  /** Waits up to `timeoutMs` for the saga to end; undefined while it still runs. */
  async settled(bookingId: string, sagaId: string, timeoutMs: number): Promise<{ state: "done" | "failed"; failure: SagaFailure | null } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await this.state(bookingId, sagaId);
      if (current && (current.state === "done" || current.state === "failed")) return { state: current.state, failure: current.failure };
      if (Date.now() >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** One step, as the consumer received it. Throws only when the step must be tried again. */
  async handle(command: eventsV1.RescheduleCommand): Promise<void> {
    const step = command.step;
    if (!step || !decodeBookingId(command.sagaId) || !decodeBookingId(command.bookingId)) {
      this.logger.warn({ commandId: command.commandId }, "reschedule command without a step or with ids that name no shard: skipped");
      return;
    }
    switch (step.$case) {
      case "takeSeat":
        return this.takeSeat(command, step.value);
      case "releaseOld":
        return this.releaseOld(command);
      case "finalize":
        return this.finalize(command, step.value.status);
      case "abort":
        return this.abort(command, step.value.reason);
      case "aborted":
        return this.record(command, "failed", step.value.reason);
      case "done":
        return this.record(command, "done", null);
    }
  }

  private async takeSeat(command: eventsV1.RescheduleCommand, seat: eventsV1.RescheduleTakeSeat): Promise<void> {
    const { shard, createdAt } = this.router.forBookingId(command.sagaId);
    let outcome: CreateOutcome;
    try {
      outcome = await inTransaction(shard.db, async (trx) => {
        const created = await shard.createInTransaction(trx, {
          id: command.sagaId,
          createdAt,
          slot: { id: seat.slotId, doctorId: seat.doctorId, startTime: seat.slotStartTime!, endTime: seat.slotEndTime!, capacity: seat.slotCapacity },
          patientId: seat.patientId,
          patientName: seat.patientName,
          patientContact: seat.patientContact,
          patientPhone: seat.patientPhone,
          holdTtlMs: this.holdTtlMs,
          rescheduleOf: { id: command.bookingId, count: seat.rescheduleCount },
          sagaHold: true,
        });
        await writeOutbox(trx, [this.command(command.sagaId, command.bookingId, { $case: "releaseOld", value: {} })]);
        return created;
      });
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
      const refused = err.outcome as CreateOutcome;
      if (refused.kind === "existing") {
        // Redelivered: the hold is there (or the saga went on from it); the next step was sent.
        return;
      }
      if (refused.kind === "created") throw new Error(`saga ${command.sagaId}: a created hold rolled back`, { cause: err });
      // No seat: nothing was taken; the old shard records why.
      await inTransaction(shard.db, (trx) =>
        writeOutbox(trx, [this.command(command.sagaId, command.bookingId, { $case: "aborted", value: { reason: NO_SEAT[refused.kind] } })]),
      );
      return;
    }
    await shard.seatsChanged([seat.slotId]);
    this.logger.debug({ sagaId: command.sagaId, outcome: outcome.kind }, "reschedule: seat held");
  }

  private async releaseOld(command: eventsV1.RescheduleCommand): Promise<void> {
    const { shard, createdAt } = this.router.forBookingId(command.bookingId);
    const released = await inTransaction(shard.db, async (trx): Promise<BookingRow | undefined> => {
      const saga = await lockSaga(trx, command.sagaId);
      if (saga?.state !== "seat_requested") return undefined; // redelivered, or the saga ended
      const { rows } = await trx.raw<{ rows: BookingRow[] }>("SELECT * FROM bookings WHERE id = ? AND created_at = ? FOR UPDATE", [command.bookingId, createdAt]);
      const old = rows[0];
      const status = old ? effectiveStatus(old) : undefined;
      if (!old || (status !== "PENDING" && status !== "CONFIRMED")) {
        // Cancelled or lapsed meanwhile: the move has nothing to move; the new seat goes back.
        await setState(trx, command.sagaId, "failed", "BOOKING_NO_LONGER_ACTIVE");
        await writeOutbox(trx, [this.command(command.sagaId, command.bookingId, { $case: "abort", value: { reason: "BOOKING_NO_LONGER_ACTIVE" } })]);
        return undefined;
      }
      const { rows: cancelled } = await trx.raw<{ rows: BookingRow[] }>(
        "UPDATE bookings SET status = 'CANCELLED', rescheduled_to = ?, updated_at = now() WHERE id = ? AND created_at = ? RETURNING *",
        [command.sagaId, old.id, old.created_at],
      );
      await trx.raw("UPDATE slot_inventory SET held = held - 1, updated_at = now() WHERE slot_id = ?", [old.slot_id]);
      await shard.offerFreedSeats(trx, [old.slot_id]);
      await setState(trx, command.sagaId, "old_released", null);
      await writeOutbox(trx, [
        bookingEvent(shard.eventsTopic, "booking.cancelled", cancelled[0]!),
        // The status it had when it was released: a hold confirmed during the saga moves confirmed.
        this.command(command.sagaId, command.bookingId, { $case: "finalize", value: { status } }),
      ]);
      return cancelled[0];
    });
    if (released) await shard.seatsChanged([released.slot_id]);
  }

  private async finalize(command: eventsV1.RescheduleCommand, status: string): Promise<void> {
    const { shard, createdAt } = this.router.forBookingId(command.sagaId);
    const confirmed = status === "CONFIRMED";
    await inTransaction(shard.db, async (trx) => {
      const { rows } = await trx.raw<{ rows: BookingRow[] }>(
        `UPDATE bookings SET status = ?, expires_at = ${confirmed ? "now()" : "now() + make_interval(secs => ?)"}, updated_at = now()
          WHERE id = ? AND created_at = ? AND status = 'PENDING' AND expires_at = ? RETURNING *`,
        [confirmed ? "CONFIRMED" : "PENDING", ...(confirmed ? [] : [this.holdTtlMs / 1000]), command.sagaId, createdAt, SAGA_HOLD_UNTIL],
      );
      // Not a saga hold any more: finalized before (redelivered). Done is sent again; harmless.
      const events = rows[0] ? shard.creationEvents(rows[0]) : [];
      await writeOutbox(trx, [...events, this.command(command.sagaId, command.bookingId, { $case: "done", value: {} })]);
    });
  }

  private async abort(command: eventsV1.RescheduleCommand, reason: string): Promise<void> {
    const { shard, createdAt } = this.router.forBookingId(command.sagaId);
    const released = await inTransaction(shard.db, async (trx): Promise<string | undefined> => {
      const { rows } = await trx.raw<{ rows: BookingRow[] }>(
        "UPDATE bookings SET status = 'CANCELLED', updated_at = now() WHERE id = ? AND created_at = ? AND status = 'PENDING' AND expires_at = ? RETURNING *",
        [command.sagaId, createdAt, SAGA_HOLD_UNTIL],
      );
      if (rows[0]) {
        await trx.raw("UPDATE slot_inventory SET held = held - 1, updated_at = now() WHERE slot_id = ?", [rows[0].slot_id]);
        await shard.offerFreedSeats(trx, [rows[0].slot_id]);
      }
      await writeOutbox(trx, [this.command(command.sagaId, command.bookingId, { $case: "aborted", value: { reason } })]);
      return rows[0]?.slot_id;
    });
    if (released) await shard.seatsChanged([released]);
  }

  /** The saga's end on its record; a record that ended already keeps its first ending. */
  private async record(command: eventsV1.RescheduleCommand, state: "done" | "failed", failure: string | null): Promise<void> {
    const { shard } = this.router.forBookingId(command.bookingId);
    await shard.db.raw("UPDATE reschedule_sagas SET state = ?, failure = coalesce(failure, ?), updated_at = now() WHERE id = ? AND state IN ('seat_requested', 'old_released')", [
      state,
      failure,
      command.sagaId,
    ]);
  }
}

async function lockSaga(trx: Knex.Transaction, sagaId: string): Promise<{ state: SagaState } | undefined> {
  const { rows } = await trx.raw<{ rows: { state: SagaState }[] }>("SELECT state FROM reschedule_sagas WHERE id = ? FOR UPDATE", [sagaId]);
  return rows[0];
}

async function setState(trx: Knex.Transaction, sagaId: string, state: SagaState, failure: string | null): Promise<void> {
  await trx.raw("UPDATE reschedule_sagas SET state = ?, failure = ?, updated_at = now() WHERE id = ?", [state, failure, sagaId]);
}
