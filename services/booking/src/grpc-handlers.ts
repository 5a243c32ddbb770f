import { findArchivedBooking } from "./archive";
import { createHash } from "node:crypto";
import {
  DomainError,
  Validator,
  decodeCursor,
  defineService,
  encodeCursor,
  forbidden,
  notFound,
  requireAccount,
  requireDoctorOrAdmin,
  requirePatientOrAdmin,
  requireRole,
  type AccountCaller,
  type Caller,
  type KeyedCache,
} from "@clinic/platform";
import { bookingV1 } from "@clinic/proto";
import { newBookingId, decodeBookingId } from "./booking-id";
import type { BookingMetrics } from "./booking-metrics";
import { cancelDeadline, type PolicyCache } from "./booking-policy";
import { patientDetails } from "./patient-details";
import { policyHandlers } from "./policy-handlers";
import { waitlistHandlers } from "./waitlist-handlers";
import type { RescheduleSaga } from "./reschedule-saga";
import { effectiveStatus, isSagaHold, ownedBy, type Actor, type BookingRow, type RescheduleInput, type RescheduleOutcome, type BookingShardRepository, type ListCursor, type StoredStatus } from "./booking-repository";
import type { BookingRouter } from "./booking-router";
import { scatterGather } from "./scatter";
import type { SlotInfo } from "./slot-client";
import type { SlotDirectory } from "./slot-directory";

export const BOOKING_SERVICE_NAME = "clinic.booking.v1.BookingService";

const { BookingStatus } = bookingV1;

const TO_PROTO: Record<StoredStatus, bookingV1.BookingStatus> = {
  PENDING: BookingStatus.BOOKING_STATUS_PENDING,
  CONFIRMED: BookingStatus.BOOKING_STATUS_CONFIRMED,
  CANCELLED: BookingStatus.BOOKING_STATUS_CANCELLED,
  EXPIRED: BookingStatus.BOOKING_STATUS_EXPIRED,
};

/** A booking as the API shows it; `windowHours`: its doctor's cancellation window now. */
export function toBooking(row: BookingRow, windowHours: number, now: Date = new Date()): bookingV1.Booking {
  return {
    id: row.id,
    slotId: row.slot_id,
    doctorId: row.doctor_id,
    patientId: row.patient_id,
    patientName: row.patient_name,
    patientContact: row.patient_contact,
    patientPhone: row.patient_phone,
    status: TO_PROTO[effectiveStatus(row, now)],
    createTime: row.created_at,
    updateTime: row.updated_at,
    expireTime: row.expires_at,
    slotStartTime: row.slot_start_time,
    cancellationWindowHours: windowHours,
    cancelDeadline: cancelDeadline(row.slot_start_time, windowHours),
    rescheduleCount: row.reschedule_count,
    rescheduledFrom: row.rescheduled_from ?? "",
    rescheduledTo: row.rescheduled_to ?? "",
    waitlistOffer: row.waitlist_entry_id !== null,
  };
}

const PRINTABLE_KEY = /^[\x21-\x7e]{1,200}$/;
const MAX_BATCH = 100;

function statusFilter(v: Validator, statuses: readonly bookingV1.BookingStatus[]): StoredStatus[] {
  const stored: StoredStatus[] = [];
  for (const status of statuses) {
    const entry = (Object.entries(TO_PROTO) as [StoredStatus, bookingV1.BookingStatus][]).find(([, p]) => p === status);
    if (entry) stored.push(entry[0]);
    else v.add("statuses", `unknown status ${status}`);
  }
  return stored;
}

function pageCursor(token: string): ListCursor | undefined {
  const cursor = decodeCursor("page_token", token, ["c", "i"]);
  if (!cursor) return undefined;
  const createdAt = new Date(String(cursor.c));
  if (Number.isNaN(createdAt.getTime())) throw new DomainError("invalid_argument", "VALIDATION_FAILED", "page_token: is not a valid page token", [{ field: "page_token", message: "is not a valid page token" }]);
  return { createdAt, id: String(cursor.i) };
}

function nextToken(rows: readonly BookingRow[], hasMore: boolean): string {
  const last = rows[rows.length - 1];
  return hasMore && last ? encodeCursor({ c: last.created_at.toISOString(), i: last.id }) : "";
}

/** What a request asks for, so a retry with the same idempotency key can be compared. */
function requestHash(req: { slotId: string; patientName: string; patientContact: string; patientPhone: string; confirm: boolean }): string {
  const fields = [req.slotId, req.patientName, req.patientContact, req.patientPhone, req.confirm];
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

const WRONG_STATE: Record<"confirm" | "cancel", Partial<Record<StoredStatus, [string, string]>>> = {
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

/** A booking is for its patient, the doctor whose slot it is on, and admins to read. */
function requireBookingReader(caller: Caller, booking: BookingRow): void {
  const account = requireAccount(caller);
  if (account.role === "admin" || account.accountId === booking.patient_id) return;
  if (account.role === "doctor" && account.doctorId === booking.doctor_id) return;
  throw forbidden("a booking is visible to its patient, its doctor and admins only");
}

/** What GetAvailability caches per slot (`slot:{id}:bookings:count`). */
export interface SeatCount {
  capacity: number;
  held: number;
}

/** The availability cache key of a slot (design section 5.2). */
export const seatCountKey = (slotId: string): string => `slot:${slotId}:bookings:count`;

export interface BookingServiceDeps {
  router: BookingRouter<BookingShardRepository>;
  slots: SlotDirectory;
  /** Read by GetAvailability only; invalidated by the shard repositories after every seat change. */
  seatCounts: KeyedCache<SeatCount>;
  metrics: BookingMetrics;
  holdTtlMs: number;
  /** Each doctor's cancellation window, for the deadline shown on their bookings. */
  policies: PolicyCache;
  /** The window of a doctor without their own (CANCELLATION_WINDOW_HOURS). */
  defaultWindowHours: number;
  /** Moves allowed per booking line (RESCHEDULE_MAX). */
  maxReschedules: number;
  /** Moves to a slot in another shard, and how long a request waits for one (RESCHEDULE_WAIT_MS). */
  saga: RescheduleSaga;
  sagaWaitMs: number;
}

/**
 * Who may do what (the caller is verified before a handler runs; every check comes before any
 * change): patients book, confirm, cancel and list in their own name; doctors read the bookings
 * on their own slots and, through the slot and doctor services, change their own slots' seats;
 * admins do everything. Availability is public.
 */
export function bookingService(deps: BookingServiceDeps) {
  const { router, slots, seatCounts, metrics, holdTtlMs, policies, defaultWindowHours, maxReschedules, saga, sagaWaitMs } = deps;

  /** Bookings as the API shows them, each with its doctor's cancellation deadline. */
  async function showAll(rows: readonly BookingRow[]): Promise<bookingV1.Booking[]> {
    const windows = await policies.windowHours(rows.map((r) => r.doctor_id));
    const now = new Date();
    return rows.map((r) => toBooking(r, windows.get(r.doctor_id) ?? defaultWindowHours, now));
  }
  const show = async (row: BookingRow): Promise<bookingV1.Booking> => (await showAll([row]))[0]!;

  /**
   * A move to a slot in another shard, as a saga (src/reschedule-saga.ts): begun here, then
   * waited for up to `sagaWaitMs`. A retry of the same move joins the saga under way, or answers
   * its result; a saga still running past the wait answers RESCHEDULE_IN_PROGRESS with the new
   * booking's id, which the client may retry or read.
   */
  async function rescheduledAcrossShards(input: RescheduleInput): Promise<bookingV1.Booking> {
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
        const moved = await findMoved(begun.to);
        if (moved?.slot_id === input.newSlot.id) return show(moved);
        return rescheduled({ kind: "wrong_state", status: "CANCELLED" }, input.id, input.newSlot.id);
      }
      default:
        return rescheduled(begun, input.id, input.newSlot.id);
    }
    const settled = await saga.settled(input.id, sagaId, sagaWaitMs);
    if (!settled) {
      throw new DomainError("conflict", "RESCHEDULE_IN_PROGRESS", "the move is under way; retry the same request, or read the new booking, in a moment", [], { newBookingId: sagaId });
    }
    if (settled.state === "failed") {
      metrics.outcomes.inc({ outcome: "reschedule_rejected" });
      const failure = settled.failure ?? "BOOKING_NO_LONGER_ACTIVE";
      if (failure === "SLOT_FULL") throw new DomainError("conflict", "SLOT_FULL", "no seat left in the new slot; the booking is unchanged");
      if (failure === "ALREADY_BOOKED") throw new DomainError("conflict", "ALREADY_BOOKED", "patient already holds a booking for the new slot; the booking is unchanged");
      if (failure === "SLOT_NOT_FOUND") throw notFound("slot", input.newSlot.id);
      throw new DomainError("conflict", "BOOKING_STATE_CONFLICT", "the booking was cancelled or lapsed while it was being moved; nothing was moved");
    }
    metrics.outcomes.inc({ outcome: "rescheduled" });
    const moved = await findMoved(sagaId);
    if (!moved) throw new Error(`reschedule saga ${sagaId} is done but its booking cannot be read`);
    return show(moved);
  }

  const findMoved = async (bookingId: string): Promise<BookingRow | undefined> => {
    const { shard, createdAt } = router.forBookingId(bookingId);
    return shard.findById(bookingId, createdAt);
  };

  /** A reschedule's outcome: the new booking, or the error that says why nothing changed. */
  async function rescheduled(outcome: RescheduleOutcome, id: string, newSlotId: string): Promise<bookingV1.Booking> {
    if (outcome.kind !== "rescheduled") metrics.outcomes.inc({ outcome: outcome.kind === "too_late" ? "reschedule_too_late" : "reschedule_rejected" });
    switch (outcome.kind) {
      case "rescheduled":
        if (!outcome.replayed) metrics.outcomes.inc({ outcome: "rescheduled" });
        return show(outcome.booking);
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
        throw new DomainError("conflict", "RESCHEDULE_IN_PROGRESS", "this booking is the new seat of a reschedule still under way; try again in a moment");
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

  async function requireSlot(slotId: string): Promise<SlotInfo> {
    const slot = await slots.get(slotId);
    if (!slot) throw notFound("slot", slotId);
    return slot;
  }

  /** Seats of existing, open slots from their shards; deleted (retired) and unknown slots are absent. */
  async function seatCountsFromShards(slotIds: readonly string[]): Promise<Map<string, SeatCount>> {
    const found = await slots.getMany(slotIds);
    const byShard = new Map<BookingShardRepository, string[]>();
    for (const slot of found.values()) {
      const shard = router.forDoctor(slot.doctorId);
      byShard.set(shard, [...(byShard.get(shard) ?? []), slot.id]);
    }
    const rows = (await Promise.all([...byShard].map(([shard, ids]) => shard.availability(ids)))).flat();
    const inventory = new Map(rows.map((r) => [r.slot_id, r]));
    const counts = new Map<string, SeatCount>();
    for (const slot of found.values()) {
      const row = inventory.get(slot.id);
      if (row?.retired) continue;
      // No inventory row yet means nobody has booked: every seat is free.
      counts.set(slot.id, { capacity: row?.capacity ?? slot.capacity, held: Math.max(0, row?.held ?? 0) });
    }
    return counts;
  }

  async function transition(action: "confirm" | "cancel", rawId: string, caller: Caller): Promise<bookingV1.Booking> {
    const account = requireAccount(caller);
    const v = new Validator();
    const id = v.uuid("id", rawId);
    v.check();
    const { shard, createdAt } = router.forBookingId(id);
    const actor = transitionActor(account, action, defaultWindowHours);
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
    return show(outcome.booking);
  }

  return defineService(BOOKING_SERVICE_NAME, bookingV1.BookingServiceService, {
    async createBooking(req, { caller }) {
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

      const slot = await requireSlot(slotId);
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
          return { booking: await show(earlier), replayed: true };
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
        holdTtlMs,
        confirm: req.confirm,
      });
      switch (outcome.kind) {
        case "created":
          // An instant booking is a hold confirmed at once: it counts at both funnel steps.
          metrics.outcomes.inc({ outcome: "held" });
          if (req.confirm) metrics.outcomes.inc({ outcome: "confirmed" });
          return { booking: await show(outcome.booking), replayed: false };
        case "existing":
          metrics.outcomes.inc({ outcome: "replayed" });
          return { booking: await show(outcome.booking), replayed: true };
        case "full":
          metrics.outcomes.inc({ outcome: "rejected_full" });
          throw new DomainError("conflict", "SLOT_FULL", "no seat left in this slot");
        case "retired":
          throw notFound("slot", slotId);
        case "already_booked":
          metrics.outcomes.inc({ outcome: "rejected_duplicate" });
          throw new DomainError("conflict", "ALREADY_BOOKED", `patient already holds booking ${outcome.bookingId} for this slot`);
      }
    },

    async confirmBooking(req, { caller }) {
      return { booking: await transition("confirm", req.id, caller) };
    },

    async cancelBooking(req, { caller }) {
      return { booking: await transition("cancel", req.id, caller) };
    },

    async rescheduleBooking(req, { caller }) {
      const account = requireAccount(caller);
      const v = new Validator();
      const id = v.uuid("id", req.id);
      const newSlotId = v.uuid("new_slot_id", req.newSlotId);
      v.check();
      const slot = await requireSlot(newSlotId);
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
        actor: transitionActor(account, "cancel", defaultWindowHours),
        newSlot: slot,
        newId,
        newCreatedAt: decodeBookingId(newId)!.createdAt,
        holdTtlMs,
        maxReschedules,
      };
      // Within one shard (the same doctor, or a doctor whose bookings share the shard) the move is
      // one transaction; across shards, a saga.
      if (router.forBucket(router.bucketOfDoctor(slot.doctorId)) === shard) {
        return { booking: await rescheduled(await shard.reschedule(input), id, newSlotId) };
      }
      return { booking: await rescheduledAcrossShards(input) };
    },

    ...policyHandlers(router, policies, defaultWindowHours),
    ...waitlistHandlers(router, requireSlot, metrics),

    async getBooking(req, { caller }) {
      requireAccount(caller);
      const v = new Validator();
      const id = v.uuid("id", req.id);
      v.check();
      const { shard, createdAt } = router.forBookingId(id);
      // An old booking may have moved to the archive (src/archive.ts): one more lookup by id.
      const row = (await shard.findById(id, createdAt)) ?? (await findArchivedBooking(shard.db, id));
      if (!row) throw notFound("booking", id);
      requireBookingReader(caller, row);
      return { booking: await show(row) };
    },

    async listBookings(req, { caller }) {
      requireAccount(caller);
      const v = new Validator();
      const selectors = [req.patientId, req.slotId, req.doctorId].filter((s) => s !== "");
      if (selectors.length !== 1) v.add("patient_id", "exactly one of patient_id, slot_id, doctor_id is required");
      const patientId = req.patientId ? v.uuid("patient_id", req.patientId) : undefined;
      const slotId = req.slotId ? v.uuid("slot_id", req.slotId) : undefined;
      const doctorId = req.doctorId ? v.uuid("doctor_id", req.doctorId) : undefined;
      const limit = v.pageSize("page_size", req.pageSize);
      const statuses = statusFilter(v, req.statuses);
      v.check();
      const cursor = pageCursor(req.pageToken);

      // A patient's bookings are spread over the doctors' shards; a slot or doctor is in one.
      let shards: BookingShardRepository[];
      let filter;
      if (patientId) {
        requirePatientOrAdmin(caller, patientId);
        shards = [...router.shards];
        filter = { patientId, statuses };
      } else if (slotId) {
        // The slot service owns which doctor a slot is of (slots are public, so NOT_FOUND for an
        // unknown one tells nobody anything); a shard's inventory row would be a weaker witness,
        // it only exists once the slot was booked or changed.
        const slot = await requireSlot(slotId);
        requireDoctorOrAdmin(caller, slot.doctorId);
        shards = [router.forDoctor(slot.doctorId)];
        filter = { slotId, statuses };
      } else {
        requireDoctorOrAdmin(caller, doctorId!);
        shards = [router.forDoctor(doctorId!)];
        filter = { doctorId: doctorId!, statuses };
      }
      // A patient's own list reads the primary (their new booking shows at once); the doctor's and
      // the slot's lists may trail it by a moment and read a replica.
      const from = filter.patientId ? "primary" : "replica";
      const { rows, hasMore } = await scatterGather(shards, limit, (shard, n) => shard.list(filter, cursor, n, from));
      return { bookings: await showAll(rows), nextPageToken: nextToken(rows, hasMore) };
    },

    async listAllBookings(req, { caller }) {
      requireRole(caller, "admin");
      const v = new Validator();
      const limit = v.pageSize("page_size", req.pageSize);
      const statuses = statusFilter(v, req.statuses);
      v.check();
      const cursor = pageCursor(req.pageToken);
      const { rows, hasMore } = await scatterGather(router.shards, limit, (shard, n) => shard.list({ statuses }, cursor, n, "replica"));
      return { bookings: await showAll(rows), nextPageToken: nextToken(rows, hasMore) };
    },

    async getAvailability(req) {
      const v = new Validator();
      if (req.slotIds.length === 0) v.add("slot_ids", "at least one slot id is required");
      if (req.slotIds.length > MAX_BATCH) v.add("slot_ids", `at most ${MAX_BATCH} slot ids`);
      const ids = [...new Set(req.slotIds.map((id, i) => v.uuid(`slot_ids[${i}]`, id)))];
      v.check();

      const counts = await seatCounts.getMany(ids, (uncached) => seatCountsFromShards(uncached));
      const availability: bookingV1.SlotAvailability[] = [];
      const missing: string[] = [];
      for (const id of ids) {
        const count = counts.get(id);
        if (count) availability.push({ slotId: id, capacity: count.capacity, held: count.held, remaining: Math.max(0, count.capacity - count.held) });
        else missing.push(id);
      }
      return { availability, missingSlotIds: missing };
    },

    // Called by the slot service for the caller who changes the slot. The doctor id comes with
    // the request: it is checked against the caller here, and against the slot's inventory row
    // by the shard (see BookingShardRepository.setCapacity).
    async setSlotCapacity(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const slotId = v.uuid("slot_id", req.slotId);
      const doctorId = v.uuid("doctor_id", req.doctorId);
      const capacity = v.int("capacity", req.capacity, { min: 1, max: 100_000 });
      const startTime = v.date("start_time", req.startTime);
      const endTime = v.date("end_time", req.endTime);
      if (startTime && endTime && startTime >= endTime) v.add("end_time", "must be after start_time");
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      const row = await router.forDoctor(doctorId).setCapacity({ id: slotId, doctorId, startTime: startTime!, endTime: endTime!, capacity }, capacity);
      slots.invalidate(slotId);
      if (!row) {
        throw new DomainError("unprocessable", "CAPACITY_BELOW_HELD", "more seats are already held than the new capacity");
      }
      if (row.retired) throw notFound("slot", slotId);
      return { availability: { slotId, capacity: row.capacity, held: row.held, remaining: row.capacity - row.held } };
    },

    async retireSlot(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const slotId = v.uuid("slot_id", req.slotId);
      const doctorId = v.uuid("doctor_id", req.doctorId);
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      const retired = await router.forDoctor(doctorId).retire(slotId, doctorId);
      slots.invalidate(slotId);
      if (!retired) throw new DomainError("conflict", "SLOT_HAS_ACTIVE_BOOKINGS", "the slot still has active bookings");
      return {};
    },

    async countActiveBookings(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      return { count: await router.forDoctor(doctorId).countActive(doctorId) };
    },
  });
}

