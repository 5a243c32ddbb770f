import { createHash } from "node:crypto";
import {
  forbidden,
  requireAccount,
  requirePatientOrAdmin,
  type AccountCaller,
  type Caller,
} from "@clinic/platform/auth";
import { DomainError, notFound } from "@clinic/platform/errors";
import { Validator, type ServiceHandlers } from "@clinic/platform/grpc";
import type { bookingV1 } from "@clinic/proto";
import { findArchivedBooking } from "./archive";
import type { BookingHandlerContext } from "./booking-handler-context";
import { decodeBookingId, newBookingId } from "./booking-id";
import { isSagaHold, ownedBy, type Actor, type StoredStatus } from "./booking-repository";
import { patientDetails } from "./patient-details";

type WriteHandlers = Pick<ServiceHandlers<typeof bookingV1.BookingServiceService>, "createBooking" | "confirmBooking" | "cancelBooking">;

const PRINTABLE_KEY = /^[\x21-\x7e]{1,200}$/;

/** What a request asks for, so a retry with the same idempotency key can be compared. */
function requestHash(req: { slotId: string; patientName: string; patientContact: string; patientPhone: string; confirm: boolean }): string {
  const fields = [req.slotId, req.patientName, req.patientContact, req.patientPhone, req.confirm];
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

/** Why a booking in a given state can no longer be confirmed or cancelled (also read by a reschedule). */
export const WRONG_STATE: Record<"confirm" | "cancel", Partial<Record<StoredStatus, [string, string]>>> = {
  confirm: {
    CONFIRMED: ["BOOKING_ALREADY_CONFIRMED", "booking is already confirmed"],
    CANCELLED: ["BOOKING_CANCELLED", "booking was cancelled"],
    EXPIRED: ["BOOKING_EXPIRED", "the hold expired before it was confirmed"],
  },
  cancel: {
    CANCELLED: ["BOOKING_ALREADY_CANCELLED", "booking is already cancelled"],
    EXPIRED: ["BOOKING_EXPIRED", "the hold already expired"],
  },
};

const NOT_YOURS = {
  confirm: "a booking is confirmed by its patient or an admin only",
  cancel: "a booking is cancelled by its patient, its doctor or an admin only",
} as const;

/**
 * Who a transition acts for: a patient on their own bookings (and, cancelling, bound by the
 * doctor's cancellation window), a doctor cancelling on their own slots, an admin on any.
 */
export function transitionActor(account: AccountCaller, action: "confirm" | "cancel", defaultWindowHours: number): Actor {
  if (account.role === "admin") return {};
  if (account.role === "doctor" && action === "cancel" && account.doctorId) return { doctorId: account.doctorId };
  return action === "cancel" ? { patientId: account.accountId, windowDefaultHours: defaultWindowHours } : { patientId: account.accountId };
}

/** CANCELLATION_TOO_LATE, with the deadline and window as facts a client can show. */
export function cancellationTooLate(deadline: Date, windowHours: number, verb: "cancelled" | "rescheduled"): DomainError {
  return new DomainError(
    "conflict",
    "CANCELLATION_TOO_LATE",
    `a confirmed booking is ${verb} by its patient up to ${windowHours} h before the slot starts, until ${deadline.toISOString()}`,
    [],
    { cancelDeadline: deadline.toISOString(), cancellationWindowHours: String(windowHours) },
  );
}

async function createBooking(ctx: BookingHandlerContext, req: bookingV1.CreateBookingRequest, caller: Caller): Promise<bookingV1.CreateBookingResponse> {
  const { router, metrics, view } = ctx;
  requireAccount(caller);
  const v = new Validator();
  const slotId = v.uuid("slot_id", req.slotId);
  const { patientId, patientName, patientContact, patientPhone } = patientDetails(v, req);
  if (req.idempotencyKey !== "" && !PRINTABLE_KEY.test(req.idempotencyKey)) {
    v.add("idempotency_key", "must be 1 to 200 printable ASCII characters");
  }
  v.check();
  // Before the idempotency key is claimed: nobody books, or reserves a key, in another's name.
  requirePatientOrAdmin(caller, patientId);

  const slot = await ctx.requireSlot(slotId);
  if (slot.startTime.getTime() <= Date.now()) {
    metrics.outcomes.inc({ outcome: "rejected_past" });
    throw new DomainError("unprocessable", "SLOT_IN_PAST", "the slot has already started");
  }
  const bucket = router.bucketOfDoctor(slot.doctorId);
  const shard = router.forBucket(bucket);

  let id = newBookingId(bucket);
  if (req.idempotencyKey !== "") {
    const hash = requestHash({ slotId, patientName, patientContact, patientPhone, confirm: req.confirm });
    // The key is kept on the shard of the booking it names: a shard that is down (a failover)
    // then blocks only its own doctors' bookings, never another shard's.
    const claim = await shard.claimIdempotencyKey(patientId, req.idempotencyKey, hash, id);
    if (claim.requestHash !== hash) {
      throw new DomainError("unprocessable", "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
    }
    id = claim.bookingId;
    const earlier = await shard.findById(id, decodeBookingId(id)!.createdAt);
    if (earlier) {
      metrics.outcomes.inc({ outcome: "replayed" });
      return { booking: await view.show(earlier), replayed: true };
    }
  }

  const outcome = await shard.create({
    id,
    createdAt: decodeBookingId(id)!.createdAt,
    slot,
    patientId,
    patientName,
    patientContact,
    patientPhone,
    holdTtlMs: ctx.holdTtlMs,
    confirm: req.confirm,
  });
  switch (outcome.kind) {
    case "created":
      // An instant booking is a hold confirmed at once: it counts at both funnel steps.
      metrics.outcomes.inc({ outcome: "held" });
      if (req.confirm) metrics.outcomes.inc({ outcome: "confirmed" });
      return { booking: await view.show(outcome.booking), replayed: false };
    case "existing":
      metrics.outcomes.inc({ outcome: "replayed" });
      return { booking: await view.show(outcome.booking), replayed: true };
    case "full":
      metrics.outcomes.inc({ outcome: "rejected_full" });
      throw new DomainError("conflict", "SLOT_FULL", "no seat left in this slot");
    case "retired":
      throw notFound("slot", slotId);
    case "already_booked":
      metrics.outcomes.inc({ outcome: "rejected_duplicate" });
      throw new DomainError("conflict", "ALREADY_BOOKED", `patient already holds booking ${outcome.bookingId} for this slot`);
  }
}

async function transition(ctx: BookingHandlerContext, action: "confirm" | "cancel", rawId: string, caller: Caller): Promise<bookingV1.Booking> {
  const { router, metrics } = ctx;
  const account = requireAccount(caller);
  const v = new Validator();
  const id = v.uuid("id", rawId);
  v.check();
  const { shard, createdAt } = router.forBookingId(id);
  const actor = transitionActor(account, action, ctx.defaultWindowHours);
  const outcome = action === "confirm" ? await shard.confirm(id, createdAt, actor) : await shard.cancel(id, createdAt, actor);
  if (outcome.kind === "not_found") {
    // An archived booking is finished for good: the same conflict as before it moved, not a 404
    // for a booking that GetBooking still answers.
    const archived = await findArchivedBooking(shard.db, id);
    if (!archived) throw notFound("booking", id);
    if (!ownedBy(archived, actor)) throw forbidden(NOT_YOURS[action]);
    const [reason, message] = WRONG_STATE[action][archived.status] ?? ["BOOKING_ARCHIVED", "booking is archived: its slot has begun, it can no longer change"];
    metrics.outcomes.inc({ outcome: `${action}_rejected` });
    throw new DomainError("conflict", reason, message);
  }
  if (outcome.kind === "not_owner") throw forbidden(NOT_YOURS[action]);
  if (outcome.kind === "too_late") {
    metrics.outcomes.inc({ outcome: "cancel_too_late" });
    throw cancellationTooLate(outcome.deadline, outcome.windowHours, "cancelled");
  }
  if (outcome.kind === "wrong_state" && isSagaHold(outcome.booking)) {
    throw new DomainError("conflict", "RESCHEDULE_IN_PROGRESS", "this booking is the new seat of a reschedule still under way; try again in a moment");
  }
  if (outcome.kind === "wrong_state") {
    const [reason, message] = WRONG_STATE[action][outcome.status] ?? ["BOOKING_STATE_CONFLICT", `booking is ${outcome.status.toLowerCase()}`];
    metrics.outcomes.inc({ outcome: `${action}_rejected` });
    throw new DomainError("conflict", reason, message);
  }
  metrics.outcomes.inc({ outcome: action === "confirm" ? "confirmed" : "cancelled" });
  if (action === "confirm" && outcome.booking.waitlist_entry_id) metrics.outcomes.inc({ outcome: "offer_taken" });
  return ctx.view.show(outcome.booking);
}

/** CreateBooking (a hold, or an instant booking), ConfirmBooking and CancelBooking. */
export function bookingWriteHandlers(ctx: BookingHandlerContext): WriteHandlers {
  return {
    createBooking: (req, { caller }) => createBooking(ctx, req, caller),
    confirmBooking: async (req, { caller }) => ({ booking: await transition(ctx, "confirm", req.id, caller) }),
    cancelBooking: async (req, { caller }) => ({ booking: await transition(ctx, "cancel", req.id, caller) }),
  };
}
