import { Type, type Static } from "@sinclair/typebox";
import { bookingV1 } from "@clinic/proto";
import { DateTime, StringEnum, Uuid, UuidList, closed, idParams, iso, named, optionalIso, pageQueryFields, pageSchema, ref } from "./common";

export const BOOKING_STATUSES = ["pending", "confirmed", "cancelled", "expired"] as const;
export type BookingStatusName = (typeof BOOKING_STATUSES)[number];

const STATUS_OF_NAME: Record<BookingStatusName, bookingV1.BookingStatus> = {
  pending: bookingV1.BookingStatus.BOOKING_STATUS_PENDING,
  confirmed: bookingV1.BookingStatus.BOOKING_STATUS_CONFIRMED,
  cancelled: bookingV1.BookingStatus.BOOKING_STATUS_CANCELLED,
  expired: bookingV1.BookingStatus.BOOKING_STATUS_EXPIRED,
};
export const bookingStatusOf = (name: BookingStatusName): bookingV1.BookingStatus => STATUS_OF_NAME[name];

function statusName(status: bookingV1.BookingStatus): BookingStatusName {
  const entry = Object.entries(STATUS_OF_NAME).find(([, value]) => value === status);
  if (!entry) throw new Error(`booking service answered with status ${status}`);
  return entry[0] as BookingStatusName;
}

const Status = StringEnum(BOOKING_STATUSES, {
  description: "`pending` holds a seat until `expireTime`; `confirmed`; `cancelled` and `expired` gave it back.",
});

/** An e-mail address or an E.164 phone number; see the `contact` and `e164` formats in http-server.ts. */
const Contact = Type.String({
  format: "contact",
  maxLength: 254,
  description: "E-mail address, or phone number in E.164 form (`+` then 7 to 15 digits).",
  examples: ["ada@example.org", "+4915123456789"],
});

const Phone = Type.String({
  format: "e164",
  maxLength: 16,
  description: "Optional phone number in E.164 form for text messages, when `patientContact` is an e-mail address.",
  examples: ["+4915123456789"],
});

export const BookingSchema = Type.Object(
  {
    id: Uuid(),
    slotId: Uuid(),
    doctorId: Uuid(),
    patientId: Uuid(),
    patientName: Type.String(),
    patientContact: Type.String(),
    patientPhone: Type.Optional(Type.String()),
    status: Status,
    createTime: DateTime(),
    updateTime: DateTime(),
    expireTime: Type.Optional(DateTime({ description: "When a pending hold lapses." })),
    slotStartTime: Type.Optional(DateTime()),
    cancellationWindowHours: Type.Integer({ minimum: 0, description: "The doctor's cancellation window: hours before the slot's start from which the patient can no longer cancel or reschedule a confirmed booking." }),
    cancelDeadline: Type.Optional(DateTime({ description: "The last moment the patient may cancel or reschedule this booking once confirmed (`slotStartTime` minus the window); the doctor and admins are not bound by it." })),
    rescheduleCount: Type.Integer({ minimum: 0, description: "Moves so far of this booking (a rescheduled booking carries the count on)." }),
    rescheduledFrom: Type.Optional(Uuid({ description: "The booking this one replaced." })),
    rescheduledTo: Type.Optional(Uuid({ description: "The booking that replaced this one (this one is cancelled)." })),
    waitlistOffer: Type.Optional(Type.Boolean({ description: "True for a seat offered from the slot's waitlist: held for the patient until `expireTime`." })),
  },
  named("Booking"),
);

export const RescheduleBody = Type.Object(
  { slotId: Uuid({ description: "The slot to move to: another slot of the same doctor." }) },
  closed,
);

export const BookingPolicySchema = Type.Object(
  {
    doctorId: Uuid(),
    cancellationWindowHours: Type.Integer({ minimum: 0, maximum: 720 }),
    custom: Type.Boolean({ description: "False while the doctor has no rule of their own and the platform's default applies." }),
  },
  named("BookingPolicy"),
);

export const BookingPolicyBody = Type.Object(
  {
    cancellationWindowHours: Type.Union([Type.Integer({ minimum: 0, maximum: 720 }), Type.Null()], {
      description: "Hours before a slot's start from which patients can no longer cancel or reschedule; null returns to the platform's default.",
    }),
  },
  closed,
);

export function bookingPolicyJson(policy: bookingV1.BookingPolicy | undefined): Static<typeof BookingPolicySchema> {
  if (!policy) throw new Error("booking service answered without a policy");
  return { doctorId: policy.doctorId, cancellationWindowHours: policy.cancellationWindowHours, custom: policy.custom };
}
export type BookingJson = Static<typeof BookingSchema>;

export const BookingParams = idParams("bookingId");

export const PatientParams = Type.Object(
  { patientId: Uuid({ description: "The patient's account id (the `sub` of their access token)." }) },
  closed,
);

export const CreateBookingBody = Type.Object(
  {
    slotId: Uuid(),
    patientName: Type.String({ minLength: 1, maxLength: 200 }),
    patientContact: Contact,
    patientPhone: Type.Optional(Phone),
    confirm: Type.Optional(
      Type.Boolean({ description: "Book and confirm in one step: the booking is `confirmed` at once (no pending hold) when a seat is free." }),
    ),
  },
  { title: "CreateBookingRequest", additionalProperties: false },
);
export type CreateBookingBodyJson = Static<typeof CreateBookingBody>;

export const CreateBookingHeaders = Type.Object(
  {
    "idempotency-key": Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: "^[\\x21-\\x7e]+$",
        description:
          "Optional, 1 to 200 printable ASCII characters without spaces. A retry with the same key and body answers the " +
          "original booking (200); the same key with a different body is refused (422 `IDEMPOTENCY_KEY_REUSED`).",
      }),
    ),
  },
  // Headers are an open set: only the ones named here are checked.
  { additionalProperties: true },
);

export const ListBookingsQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Status, {
        minItems: 1,
        maxItems: 4,
        uniqueItems: true,
        description: "Only these statuses, repeated or comma-separated; every status when absent.",
      }),
    ),
    ...pageQueryFields(),
  },
  closed,
);

export const BookingPageSchema = pageSchema("BookingPage", "bookings", BookingSchema);

export const AvailabilityQuery = Type.Object(
  {
    slotIds: UuidList("Slot ids, repeated (`slotIds=a&slotIds=b`) or comma-separated; at most 100."),
  },
  closed,
);

/** The stream's query: the same ids as `AvailabilityQuery`, at most `maxSlots` of them (LIVE_MAX_SLOTS_PER_STREAM). */
export const AvailabilityStreamQuery = (maxSlots: number) =>
  Type.Object(
    {
      slotIds: Type.Array(Uuid(), {
        minItems: 1,
        maxItems: maxSlots,
        description: `Slot ids to watch, repeated (\`slotIds=a&slotIds=b\`) or comma-separated; at most ${maxSlots}.`,
      }),
    },
    { additionalProperties: false },
  );

export const AvailabilityStreamHeaders = Type.Object(
  {
    "last-event-id": Type.Optional(
      Type.String({
        maxLength: 8192,
        description:
          "The `id` of the last message received, sent by EventSource when it reconnects: only slots whose seats changed since are sent again.",
      }),
    ),
  },
  // Headers are an open set: only the ones named here are checked.
  { additionalProperties: true },
);

export const SlotAvailabilitySchema = Type.Object(
  {
    slotId: Uuid(),
    capacity: Type.Integer(),
    held: Type.Integer({ description: "Seats held by pending (not yet lapsed) and confirmed bookings." }),
    remaining: Type.Integer(),
  },
  named("SlotAvailability"),
);

export const AvailabilitySchema = Type.Object(
  {
    availability: Type.Array(ref(SlotAvailabilitySchema)),
    missingSlotIds: Type.Array(Uuid(), { description: "Requested ids the booking service does not know." }),
  },
  named("Availability"),
);

export function bookingJson(booking: bookingV1.Booking | undefined): BookingJson {
  if (!booking) throw new Error("booking service answered without a booking");
  const expireTime = optionalIso(booking.expireTime);
  const slotStartTime = optionalIso(booking.slotStartTime);
  const cancelDeadline = optionalIso(booking.cancelDeadline);
  return {
    id: booking.id,
    slotId: booking.slotId,
    doctorId: booking.doctorId,
    patientId: booking.patientId,
    patientName: booking.patientName,
    patientContact: booking.patientContact,
    ...(booking.patientPhone ? { patientPhone: booking.patientPhone } : {}),
    status: statusName(booking.status),
    createTime: iso(booking.createTime, "booking.createTime"),
    updateTime: iso(booking.updateTime, "booking.updateTime"),
    ...(expireTime ? { expireTime } : {}),
    ...(slotStartTime ? { slotStartTime } : {}),
    cancellationWindowHours: booking.cancellationWindowHours,
    ...(cancelDeadline ? { cancelDeadline } : {}),
    rescheduleCount: booking.rescheduleCount,
    ...(booking.rescheduledFrom ? { rescheduledFrom: booking.rescheduledFrom } : {}),
    ...(booking.rescheduledTo ? { rescheduledTo: booking.rescheduledTo } : {}),
    ...(booking.waitlistOffer ? { waitlistOffer: true } : {}),
  };
}

export function availabilityJson(a: bookingV1.SlotAvailability): Static<typeof SlotAvailabilitySchema> {
  return { slotId: a.slotId, capacity: a.capacity, held: a.held, remaining: a.remaining };
}
