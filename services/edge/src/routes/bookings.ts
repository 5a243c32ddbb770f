import { access, accountOf } from "../access";
import { bookingV1 } from "@clinic/proto";
import type { Backends } from "../backends";
import { rpc } from "../grpc-call";
import {
  AvailabilityQuery,
  AvailabilitySchema,
  BookingPageSchema,
  BookingParams,
  BookingSchema,
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
  pageSize: q.pageSize ?? 0,
  pageToken: q.pageToken ?? "",
});

const page = (res: { bookings: bookingV1.Booking[]; nextPageToken: string }) => ({
  bookings: res.bookings.map(bookingJson),
  ...(res.nextPageToken ? { nextPageToken: res.nextPageToken } : {}),
});

export function bookingRoutes(api: EdgeFastify, { booking }: Backends): void {
  api.post(
    "/bookings",
    {
      config: { access: access.account },
      schema: {
        tags,
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
      },
    },
    async (request, reply) => {
      // The seat is always for the caller: the patient is who the token says, never the body.
      const caller = accountOf(request);
      const { body } = request;
      const res = await rpc(
        request.caller, booking.createBooking.bind(booking),
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
    {
      config: { access: access.admin },
      schema: {
        tags: [...tags, "admin"],
        operationId: "listAllBookings",
        summary: "List every booking, newest first (admin)",
        description: "Gathers from every shard and merges by creation time; cursor paginated.",
        querystring: ListBookingsQuery,
        response: { 200: ref(BookingPageSchema), ...errorResponses() },
      },
    },
    async (request) => page(await rpc(request.caller, booking.listAllBookings.bind(booking), listRequest(request.query))),
  );

  api.get(
    "/bookings/:bookingId",
    {
      config: { access: access.account },
      schema: {
        tags,
        operationId: "getBooking",
        summary: "Get a booking",
        params: BookingParams,
        response: { 200: ref(BookingSchema), ...errorResponses(404) },
      },
    },
    async (request) => bookingJson((await rpc(request.caller, booking.getBooking.bind(booking), { id: request.params.bookingId }, ID)).booking),
  );

  api.post(
    "/bookings/:bookingId/confirm",
    {
      preValidation: refuseBody,
      config: { access: access.account },
      schema: {
        tags,
        operationId: "confirmBooking",
        summary: "Confirm a pending booking",
        description: "409 when the booking is no longer pending (already confirmed, cancelled, or its hold expired).",
        params: BookingParams,
        response: { 200: ref(BookingSchema), ...errorResponses(404, 409, ...bodyErrors) },
      },
    },
    async (request) =>
      bookingJson((await rpc(request.caller, booking.confirmBooking.bind(booking), { id: request.params.bookingId }, ID)).booking),
  );

  api.post(
    "/bookings/:bookingId/cancel",
    {
      preValidation: refuseBody,
      config: { access: access.account },
      schema: {
        tags,
        operationId: "cancelBooking",
        summary: "Cancel a booking and give its seat back",
        params: BookingParams,
        response: { 200: ref(BookingSchema), ...errorResponses(404, 409, ...bodyErrors) },
      },
    },
    async (request) =>
      bookingJson((await rpc(request.caller, booking.cancelBooking.bind(booking), { id: request.params.bookingId }, ID)).booking),
  );

  api.get(
    "/patients/:patientId/bookings",
    {
      config: { access: access.ownPatient("patientId") },
      schema: {
        tags,
        operationId: "listPatientBookings",
        summary: "List a patient's bookings",
        params: PatientParams,
        querystring: ListBookingsQuery,
        response: { 200: ref(BookingPageSchema), ...errorResponses() },
      },
    },
    async (request) =>
      page(
        await rpc(request.caller, booking.listBookings.bind(booking), {
          ...listRequest(request.query),
          patientId: request.params.patientId,
          slotId: "",
          doctorId: "",
        }),
      ),
  );

  api.get(
    "/slots/:slotId/bookings",
    {
      config: { access: access.doctorOrAdmin },
      schema: {
        tags,
        operationId: "listSlotBookings",
        summary: "List a slot's bookings",
        params: SlotParams,
        querystring: ListBookingsQuery,
        response: { 200: ref(BookingPageSchema), ...errorResponses() },
      },
    },
    async (request) =>
      page(
        await rpc(request.caller, booking.listBookings.bind(booking), {
          ...listRequest(request.query),
          patientId: "",
          slotId: request.params.slotId,
          doctorId: "",
        }),
      ),
  );

  api.get(
    "/doctors/:doctorId/bookings",
    {
      config: { access: access.ownDoctor("doctorId") },
      schema: {
        tags,
        operationId: "listDoctorBookings",
        summary: "List the bookings on a doctor's slots",
        params: DoctorParams,
        querystring: ListBookingsQuery,
        response: { 200: ref(BookingPageSchema), ...errorResponses() },
      },
    },
    async (request) =>
      page(
        await rpc(request.caller, booking.listBookings.bind(booking), {
          ...listRequest(request.query),
          patientId: "",
          slotId: "",
          doctorId: request.params.doctorId,
        }),
      ),
  );

  api.get(
    "/availability",
    {
      config: { access: access.public },
      schema: {
        tags,
        operationId: "getAvailability",
        summary: "Seats left in several slots",
        querystring: AvailabilityQuery,
        response: { 200: ref(AvailabilitySchema), ...errorResponses() },
      },
    },
    async (request) => {
      const res = await rpc(request.caller, booking.getAvailability.bind(booking), { slotIds: request.query.slotIds });
      return { availability: res.availability.map(availabilityJson), missingSlotIds: res.missingSlotIds };
    },
  );
}
