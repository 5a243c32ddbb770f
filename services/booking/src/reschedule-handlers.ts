import { forbidden, requireAccount, type Caller } from "@clinic/platform/auth";
import { DomainError, notFound } from "@clinic/platform/errors";
import { Validator, type ServiceHandlers } from "@clinic/platform/grpc";
import type { bookingV1 } from "@clinic/proto";
import type { BookingHandlerContext } from "./booking-handler-context";
import { decodeBookingId, newBookingId } from "./booking-id";
import type { BookingRow, RescheduleInput, RescheduleOutcome } from "./booking-repository";
import { WRONG_STATE, cancellationTooLate, transitionActor } from "./booking-write-handlers";

type RescheduleHandlers = Pick<ServiceHandlers<typeof bookingV1.BookingServiceService>, "rescheduleBooking">;

const stillMoving = (): DomainError =>
  new DomainError("conflict", "RESCHEDULE_IN_PROGRESS", "this booking is the new seat of a reschedule still under way; try again in a moment");

/** A reschedule's outcome: the new booking, or the error that says why nothing changed. */
async function rescheduled(ctx: BookingHandlerContext, outcome: RescheduleOutcome, id: string, newSlotId: string): Promise<bookingV1.Booking> {
  const { metrics } = ctx;
  if (outcome.kind !== "rescheduled") metrics.outcomes.inc({ outcome: outcome.kind === "too_late" ? "reschedule_too_late" : "reschedule_rejected" });
  switch (outcome.kind) {
    case "rescheduled":
      if (!outcome.replayed) metrics.outcomes.inc({ outcome: "rescheduled" });
      return ctx.view.show(outcome.booking);
    case "not_found":
      throw notFound("booking", id);
    case "not_owner":
      throw forbidden("a booking is rescheduled by its patient, its doctor or an admin only");
    case "wrong_state": {
      const [reason, message] = WRONG_STATE.cancel[outcome.status] ?? ["BOOKING_STATE_CONFLICT", `booking is ${outcome.status.toLowerCase()}`];
      throw new DomainError("conflict", reason, message);
    }
    case "too_late":
      throw cancellationTooLate(outcome.deadline, outcome.windowHours, "rescheduled");
    case "limit_reached":
      throw new DomainError("conflict", "RESCHEDULE_LIMIT_REACHED", `a booking is rescheduled at most ${outcome.max} times`, [], { rescheduleMax: String(outcome.max) });
    case "in_progress":
      throw stillMoving();
    case "same_slot":
      throw new DomainError("unprocessable", "RESCHEDULE_SAME_SLOT", "the booking is already for this slot", [{ field: "new_slot_id", message: "is the booking's own slot" }]);
    case "full":
      throw new DomainError("conflict", "SLOT_FULL", "no seat left in the new slot; the booking is unchanged");
    case "retired":
      throw notFound("slot", newSlotId);
    case "already_booked":
      throw new DomainError("conflict", "ALREADY_BOOKED", `patient already holds booking ${outcome.bookingId} for the new slot; the booking is unchanged`);
  }
}

async function findMoved(ctx: BookingHandlerContext, bookingId: string): Promise<BookingRow | undefined> {
  const { shard, createdAt } = ctx.router.forBookingId(bookingId);
  return shard.findById(bookingId, createdAt);
}

/** Why a move across shards failed, from the failure its saga recorded. */
function sagaFailure(failure: string, newSlotId: string): DomainError {
  if (failure === "SLOT_FULL") return new DomainError("conflict", "SLOT_FULL", "no seat left in the new slot; the booking is unchanged");
  if (failure === "ALREADY_BOOKED") return new DomainError("conflict", "ALREADY_BOOKED", "patient already holds a booking for the new slot; the booking is unchanged");
  if (failure === "SLOT_NOT_FOUND") return notFound("slot", newSlotId);
  return new DomainError("conflict", "BOOKING_STATE_CONFLICT", "the booking was cancelled or lapsed while it was being moved; nothing was moved");
}

/**
 * A move to a slot in another shard, as a saga (src/reschedule-saga.ts): begun here, then
 * waited for up to `sagaWaitMs`. A retry of the same move joins the saga under way, or answers
 * its result; a saga still running past the wait answers RESCHEDULE_IN_PROGRESS with the new
 * booking's id, which the client may retry or read.
 */
async function rescheduledAcrossShards(ctx: BookingHandlerContext, input: RescheduleInput): Promise<bookingV1.Booking> {
  const { saga, metrics } = ctx;
  const begun = await saga.begin(input);
  let sagaId: string;
  switch (begun.kind) {
    case "begun":
      sagaId = begun.sagaId;
      break;
    case "in_flight":
      if (begun.newSlotId !== input.newSlot.id) {
        throw new DomainError("conflict", "RESCHEDULE_IN_PROGRESS", "this booking is being moved to another slot already", [], { newBookingId: begun.sagaId });
      }
      sagaId = begun.sagaId;
      break;
    case "moved_before": {
      const moved = await findMoved(ctx, begun.to);
      if (moved?.slot_id === input.newSlot.id) return ctx.view.show(moved);
      return rescheduled(ctx, { kind: "wrong_state", status: "CANCELLED" }, input.id, input.newSlot.id);
    }
    default:
      return rescheduled(ctx, begun, input.id, input.newSlot.id);
  }
  const settled = await saga.settled(input.id, sagaId, ctx.sagaWaitMs);
  if (!settled) {
    throw new DomainError("conflict", "RESCHEDULE_IN_PROGRESS", "the move is under way; retry the same request, or read the new booking, in a moment", [], { newBookingId: sagaId });
  }
  if (settled.state === "failed") {
    metrics.outcomes.inc({ outcome: "reschedule_rejected" });
    throw sagaFailure(settled.failure ?? "BOOKING_NO_LONGER_ACTIVE", input.newSlot.id);
  }
  metrics.outcomes.inc({ outcome: "rescheduled" });
  const moved = await findMoved(ctx, sagaId);
  if (!moved) throw new Error(`reschedule saga ${sagaId} is done but its booking cannot be read`);
  return ctx.view.show(moved);
}

async function rescheduleBooking(ctx: BookingHandlerContext, req: bookingV1.RescheduleBookingRequest, caller: Caller): Promise<bookingV1.Booking> {
  const { router } = ctx;
  const account = requireAccount(caller);
  const v = new Validator();
  const id = v.uuid("id", req.id);
  const newSlotId = v.uuid("new_slot_id", req.newSlotId);
  v.check();
  const slot = await ctx.requireSlot(newSlotId);
  // A doctor moves the bookings of their own slots, to another of their own slots (and, like
  // admins, is not bound by the cancellation window); the booking's check rides in the move.
  if (account.role === "doctor" && slot.doctorId !== account.doctorId) throw forbidden("a doctor moves bookings to their own slots only");
  if (slot.startTime.getTime() <= Date.now()) {
    throw new DomainError("unprocessable", "SLOT_IN_PAST", "the new slot has already started", [{ field: "new_slot_id", message: "has already started" }]);
  }
  const { shard, createdAt } = router.forBookingId(id);
  const newId = newBookingId(router.bucketOfDoctor(slot.doctorId));
  const input = {
    id,
    createdAt,
    actor: transitionActor(account, "cancel", ctx.defaultWindowHours),
    newSlot: slot,
    newId,
    newCreatedAt: decodeBookingId(newId)!.createdAt,
    holdTtlMs: ctx.holdTtlMs,
    maxReschedules: ctx.maxReschedules,
  };
  // Within one shard (the same doctor, or a doctor whose bookings share the shard) the move is
  // one transaction; across shards, a saga.
  if (router.forBucket(router.bucketOfDoctor(slot.doctorId)) === shard) {
    return rescheduled(ctx, await shard.reschedule(input), id, newSlotId);
  }
  return rescheduledAcrossShards(ctx, input);
}

/** RescheduleBooking: a move to another slot, within a shard in one transaction or across shards as a saga. */
export function rescheduleHandlers(ctx: BookingHandlerContext): RescheduleHandlers {
  return {
    rescheduleBooking: async (req, { caller }) => ({ booking: await rescheduleBooking(ctx, req, caller) }),
  };
}
