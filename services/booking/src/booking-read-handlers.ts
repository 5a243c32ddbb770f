import {
  forbidden,
  requireAccount,
  requireDoctorOrAdmin,
  requirePatientOrAdmin,
  requireRole,
  type Caller,
} from "@clinic/platform/auth";
import { DomainError, notFound } from "@clinic/platform/errors";
import { Validator, decodeCursor, encodeCursor, type ServiceHandlers } from "@clinic/platform/grpc";
import type { bookingV1 } from "@clinic/proto";
import { findArchivedBooking } from "./archive";
import type { BookingHandlerContext } from "./booking-handler-context";
import type { BookingRow, BookingShardRepository, ListCursor } from "./booking-repository";
import { statusFilter } from "./booking-view";
import { scatterGather } from "./scatter";
import { seatCountsFromShards } from "./seat-counts";

type ReadHandlers = Pick<
  ServiceHandlers<typeof bookingV1.BookingServiceService>,
  "getBooking" | "listBookings" | "listAllBookings" | "getAvailability"
>;

const MAX_BATCH = 100;

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

/** A booking is for its patient, the doctor whose slot it is on, and admins to read. */
function requireBookingReader(caller: Caller, booking: BookingRow): void {
  const account = requireAccount(caller);
  if (account.role === "admin" || account.accountId === booking.patient_id) return;
  if (account.role === "doctor" && account.doctorId === booking.doctor_id) return;
  throw forbidden("a booking is visible to its patient, its doctor and admins only");
}

async function listBookings(ctx: BookingHandlerContext, req: bookingV1.ListBookingsRequest, caller: Caller): Promise<bookingV1.ListBookingsResponse> {
  const { router } = ctx;
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
    const slot = await ctx.requireSlot(slotId);
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
  return { bookings: await ctx.view.showAll(rows), nextPageToken: nextToken(rows, hasMore) };
}

async function getAvailability(ctx: BookingHandlerContext, req: bookingV1.GetAvailabilityRequest): Promise<bookingV1.GetAvailabilityResponse> {
  const v = new Validator();
  if (req.slotIds.length === 0) v.add("slot_ids", "at least one slot id is required");
  if (req.slotIds.length > MAX_BATCH) v.add("slot_ids", `at most ${MAX_BATCH} slot ids`);
  const ids = [...new Set(req.slotIds.map((id, i) => v.uuid(`slot_ids[${i}]`, id)))];
  v.check();

  const counts = await ctx.seatCounts.getMany(ids, (uncached) => seatCountsFromShards(ctx.router, ctx.slots, uncached));
  const availability: bookingV1.SlotAvailability[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const count = counts.get(id);
    if (count) availability.push({ slotId: id, capacity: count.capacity, held: count.held, remaining: Math.max(0, count.capacity - count.held) });
    else missing.push(id);
  }
  return { availability, missingSlotIds: missing };
}

/**
 * GetBooking (its patient, its doctor, admins; archived bookings too), ListBookings of a
 * patient, a slot or a doctor, ListAllBookings (admins), and GetAvailability (public).
 */
export function bookingReadHandlers(ctx: BookingHandlerContext): ReadHandlers {
  const { router, view } = ctx;
  return {
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
      return { booking: await view.show(row) };
    },

    listBookings: (req, { caller }) => listBookings(ctx, req, caller),

    async listAllBookings(req, { caller }) {
      requireRole(caller, "admin");
      const v = new Validator();
      const limit = v.pageSize("page_size", req.pageSize);
      const statuses = statusFilter(v, req.statuses);
      v.check();
      const cursor = pageCursor(req.pageToken);
      const { rows, hasMore } = await scatterGather(router.shards, limit, (shard, n) => shard.list({ statuses }, cursor, n, "replica"));
      return { bookings: await view.showAll(rows), nextPageToken: nextToken(rows, hasMore) };
    },

    getAvailability: (req) => getAvailability(ctx, req),
  };
}
