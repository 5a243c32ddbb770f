import type { Caller } from "@clinic/platform/auth";
import type { RpcOptions } from "@clinic/platform/grpc";
import type { TSchema } from "@sinclair/typebox";
import { access, accountOf, type Access } from "../access";
import { bookingV1 } from "@clinic/proto";
import type { Backends } from "../backends";
import { rpc } from "../grpc-call";
import {
  AvailabilityQuery,
  AvailabilitySchema,
  BookingPageSchema,
  BookingParams,
  BookingPolicyBody,
  BookingPolicySchema,
  BookingSchema,
  RescheduleBody,
  bookingPolicyJson,
  CreateBookingBody,
  CreateBookingHeaders,
  ListBookingsQuery,
  PatientParams,
  availabilityJson,
  bookingJson,
  bookingStatusOf,
  type BookingStatusName,
} from "../schemas/booking";
import { bodyErrors, errorResponses, ref } from "../schemas/common";
import { DoctorParams } from "../schemas/doctor";
import { SlotParams } from "../schemas/slot";
import type { EdgeFastify } from "../type-provider";
import { operation } from "./operation";
import { pageJson, pageRequest } from "./pages";
import { refuseBody } from "./no-body";
import { API_PREFIX } from "./prefix";

const tags = ["bookings"];
const ID = { id: "bookingId" };

interface ListQuery {
  status?: BookingStatusName[];
  pageSize?: number;
  pageToken?: string;
}

const listRequest = (q: ListQuery) => ({
  statuses: (q.status ?? []).map(bookingStatusOf),
  ...pageRequest(q),
});

/** ListBookings selects by exactly one of these; the others go empty. */
const NO_SELECTOR = { patientId: "", slotId: "", doctorId: "" };

const page = (res: { bookings: bookingV1.Booking[]; nextPageToken: string }) => pageJson("bookings", res.bookings.map(bookingJson), res.nextPageToken);

/** GetBooking, ConfirmBooking, CancelBooking: a booking named by its id, answered with the booking. */
type BookingByIdMethod = (request: { id: string }, options?: RpcOptions) => Promise<{ booking?: bookingV1.Booking | undefined }>;

const oneBooking = async (caller: Caller, method: BookingByIdMethod, bookingId: string) =>
  bookingJson((await rpc(caller, method, { id: bookingId }, ID)).booking);

export function bookingRoutes(api: EdgeFastify, { booking }: Backends): void {
  api.post(
    "/bookings",
    operation(tags, access.account, {
      operationId: "createBooking",
      summary: "Hold a seat in a slot",
      description:
        "Creates a `pending` booking that holds one seat until `expireTime`; confirm it before then. " +
        "409 `SLOT_FULL` when no seat is left. With an `Idempotency-Key`, a retry of the same request " +
        "answers the original booking with 200.",
      headers: CreateBookingHeaders,
      body: CreateBookingBody,
      response: {
        200: ref(BookingSchema, { description: "Replay of an earlier request with the same Idempotency-Key" }),
        201: ref(BookingSchema, { description: "Created" }),
        ...errorResponses(404, 409, 422, ...bodyErrors),
      },
    }),
    async (request, reply) => {
      // The seat is always for the caller: the patient is who the token says, never the body.
      const caller = accountOf(request);
      const { body } = request;
      const res = await rpc(
        request.caller, booking.createBooking,
        // fromPartial: fields added to the request later keep their proto defaults here.
        bookingV1.CreateBookingRequest.fromPartial({
          slotId: body.slotId,
          patientId: caller.accountId,
          patientName: body.patientName,
          patientContact: body.patientContact,
          patientPhone: body.patientPhone ?? "",
          confirm: body.confirm ?? false,
          idempotencyKey: request.headers["idempotency-key"] ?? "",
        }),
        { idempotency_key: "idempotency-key" },
      );
      const created = bookingJson(res.booking);
      return reply
        .code(res.replayed ? 200 : 201)
        .header("location", `${API_PREFIX}/bookings/${created.id}`)
        .send(created);
    },
  );

  api.get(
    "/bookings",
    operation(tags, access.admin, {
      tags: [...tags, "admin"],
      operationId: "listAllBookings",
      summary: "List every booking, newest first (admin)",
      description: "Gathers from every shard and merges by creation time; cursor paginated.",
      querystring: ListBookingsQuery,
      response: { 200: ref(BookingPageSchema), ...errorResponses() },
    }),
    async (request) => page(await rpc(request.caller, booking.listAllBookings, listRequest(request.query))),
  );

  api.get(
    "/bookings/:bookingId",
    operation(tags, access.account, {
      operationId: "getBooking",
      summary: "Get a booking",
      params: BookingParams,
      response: { 200: ref(BookingSchema), ...errorResponses(404) },
    }),
    async (request) => oneBooking(request.caller, booking.getBooking, request.params.bookingId),
  );

  /** Confirm and cancel: one change of a booking's state, answered with the booking as it is now. */
  const transition = (action: "confirm" | "cancel", method: BookingByIdMethod, doc: { operationId: string; summary: string; description: string }) =>
    api.post(
      `/bookings/:bookingId/${action}`,
      operation(tags, access.account, {
        ...doc,
        params: BookingParams,
        response: { 200: ref(BookingSchema), ...errorResponses(404, 409, ...bodyErrors) },
      }, { preValidation: refuseBody }),
      async (request) => oneBooking(request.caller, method, request.params.bookingId),
    );

  transition("confirm", booking.confirmBooking, {
    operationId: "confirmBooking",
    summary: "Confirm a pending booking",
    description: "409 when the booking is no longer pending (already confirmed, cancelled, or its hold expired).",
  });

  transition("cancel", booking.cancelBooking, {
    operationId: "cancelBooking",
    summary: "Cancel a booking and give its seat back",
    description:
      "The patient, the doctor of the booking's slot, or an admin. A patient's cancel of a confirmed booking after its " +
      "`cancelDeadline` is refused with 409 `CANCELLATION_TOO_LATE`, the deadline in `error.info.cancelDeadline`; " +
      "a pending hold can always be let go.",
  });

  api.post(
    "/bookings/:bookingId/reschedule",
    operation(tags, access.account, {
      operationId: "rescheduleBooking",
      summary: "Move a booking to another slot",
      description:
        "The patient, the doctor of the booking (to another of their slots) or an admin. Takes a seat in the new slot and " +
        "gives the old one back, or changes nothing: 409 `SLOT_FULL`, `ALREADY_BOOKED`, `CANCELLATION_TOO_LATE` (a " +
        "confirmed booking past its `cancelDeadline`, for its patient), `RESCHEDULE_LIMIT_REACHED` (at most RESCHEDULE_MAX " +
        "moves, 3 by default), `RESCHEDULE_IN_PROGRESS` (a move to another shard still under way: `error.info.newBookingId`; " +
        "the same request again answers its outcome), a booking no longer active; 422 `RESCHEDULE_SAME_SLOT`, " +
        "`SLOT_IN_PAST`. Answers the new booking, which keeps the old one's status (a confirmed booking stays confirmed; " +
        "a hold gets a fresh one); the old one is cancelled with `rescheduledTo`. A retry of a move that happened answers " +
        "the same new booking.",
      params: BookingParams,
      body: RescheduleBody,
      response: { 200: ref(BookingSchema), ...errorResponses(403, 404, 409, 422, ...bodyErrors) },
    }),
    async (request) =>
      bookingJson(
        (await rpc(request.caller, booking.rescheduleBooking, { id: request.params.bookingId, newSlotId: request.body.slotId }, {
          ...ID,
          new_slot_id: "slotId",
        })).booking,
      ),
  );

  api.get(
    "/doctors/:doctorId/booking-policy",
    operation(tags, access.public, {
      operationId: "getBookingPolicy",
      summary: "A doctor's booking rules (the cancellation window)",
      params: DoctorParams,
      response: { 200: ref(BookingPolicySchema), ...errorResponses() },
    }),
    async (request) =>
      bookingPolicyJson((await rpc(request.caller, booking.getBookingPolicy, { doctorId: request.params.doctorId }, { doctor_id: "doctorId" })).policy),
  );

  api.put(
    "/doctors/:doctorId/booking-policy",
    operation(tags, access.ownDoctor("doctorId"), {
      operationId: "setBookingPolicy",
      summary: "Set a doctor's cancellation window (the doctor or an admin)",
      params: DoctorParams,
      body: BookingPolicyBody,
      response: { 200: ref(BookingPolicySchema), ...errorResponses(403, ...bodyErrors) },
    }),
    async (request) => {
      const hours = request.body.cancellationWindowHours;
      const res = await rpc(
        request.caller,
        booking.setBookingPolicy,
        { doctorId: request.params.doctorId, ...(hours === null ? {} : { cancellationWindowHours: hours }) },
        { doctor_id: "doctorId" },
      );
      return bookingPolicyJson(res.policy);
    },
  );

  /** A patient's, a slot's or a doctor's bookings: ListBookings with exactly that one selector set. */
  const listOf = (selector: keyof typeof NO_SELECTOR, path: string, rule: Access, params: TSchema, doc: { operationId: string; summary: string }) =>
    api.get(
      path,
      operation(tags, rule, { ...doc, params, querystring: ListBookingsQuery, response: { 200: ref(BookingPageSchema), ...errorResponses() } }),
      async (request) => {
        const id = (request.params as Record<typeof selector, string>)[selector];
        return page(await rpc(request.caller, booking.listBookings, { ...listRequest(request.query), ...NO_SELECTOR, [selector]: id }));
      },
    );

  listOf("patientId", "/patients/:patientId/bookings", access.ownPatient("patientId"), PatientParams, {
    operationId: "listPatientBookings",
    summary: "List a patient's bookings",
  });
  listOf("slotId", "/slots/:slotId/bookings", access.doctorOrAdmin, SlotParams, {
    operationId: "listSlotBookings",
    summary: "List a slot's bookings",
  });
  listOf("doctorId", "/doctors/:doctorId/bookings", access.ownDoctor("doctorId"), DoctorParams, {
    operationId: "listDoctorBookings",
    summary: "List the bookings on a doctor's slots",
  });

  api.get(
    "/availability",
    operation(tags, access.public, {
      operationId: "getAvailability",
      summary: "Seats left in several slots",
      querystring: AvailabilityQuery,
      response: { 200: ref(AvailabilitySchema), ...errorResponses() },
    }),
    async (request) => {
      const res = await rpc(request.caller, booking.getAvailability, { slotIds: request.query.slotIds });
      return { availability: res.availability.map(availabilityJson), missingSlotIds: res.missingSlotIds };
    },
  );
}
