import { eventsV1 } from "@clinic/proto";

export type Channel = "email" | "sms";

/** What a patient is told, and where: one message on one channel. */
export interface OutgoingMessage {
  channel: Channel;
  /** An e-mail address or an E.164 phone number. */
  recipient: string;
  /** E-mail only; empty for SMS. */
  subject: string;
  text: string;
}

/** How to reach a patient, as carried by booking.created/confirmed/cancelled. */
export interface PatientContact {
  patientName: string;
  patientContact: string;
  patientPhone: string;
  slotStartTime: Date | undefined;
}

/** booking.created, booking.confirmed, ... (the `event-type` header the outbox relay sets). */
export type BookingEventType = `booking.${NonNullable<eventsV1.BookingEvent["payload"]>["$case"]}`;

export const eventTypeOf = (event: eventsV1.BookingEvent): BookingEventType | undefined =>
  event.payload ? `booking.${event.payload.$case}` : undefined;

// Deliberately simple: the edge validates contacts; this only decides which channel a value is.
const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:.]+$/;
const E164 = /^\+[1-9]\d{1,14}$/;

export const isEmailAddress = (value: string): boolean => EMAIL.test(value.trim());
export const isE164 = (value: string): boolean => E164.test(value.trim());

/**
 * Where a notification goes: e-mail when the contact is an e-mail address; SMS to the patient's
 * phone when set, otherwise to the contact when that is an E.164 number. At most one of each.
 */
export function recipientsOf(contact: PatientContact): { channel: Channel; recipient: string }[] {
  const recipients: { channel: Channel; recipient: string }[] = [];
  const primary = contact.patientContact.trim();
  const phone = contact.patientPhone.trim();
  if (isEmailAddress(primary)) recipients.push({ channel: "email", recipient: primary });
  if (isE164(phone)) recipients.push({ channel: "sms", recipient: phone });
  else if (isE164(primary)) recipients.push({ channel: "sms", recipient: primary });
  return recipients;
}

/**
 * Which events tell the patient something. A created booking is a transient hold (the patient
 * is looking at the confirm button), and a failed one never held a seat: neither is worth a
 * message. Confirmed, cancelled and expired ("your hold lapsed") are, except the cancel of a
 * booking a reschedule replaced: the patient moved it themselves, and the new booking's own
 * confirmation names the new time ("cancelled" would read as losing the appointment).
 */
export function notifiable(event: eventsV1.BookingEvent): boolean {
  const payload = event.payload;
  if (payload?.$case === "cancelled") return payload.value.rescheduledTo === "";
  // A seat offered from the waitlist: held for the patient, who must hear of it to confirm it.
  if (payload?.$case === "created") return payload.value.waitlistOffer;
  return payload?.$case === "confirmed" || payload?.$case === "expired";
}

/**
 * The contact an event carries itself. booking.expired carries it too, except from producers
 * older than its contact fields (then undefined: the caller looks for a kept contact).
 */
export function contactOf(event: eventsV1.BookingEvent): PatientContact | undefined {
  const payload = event.payload;
  if (!payload) return undefined;
  switch (payload.$case) {
    case "created":
    case "confirmed":
    case "cancelled":
    case "expired": {
      const { patientName, patientContact, patientPhone, slotStartTime } = payload.value;
      // booking.expired of a producer older than its contact fields carries none.
      if (payload.$case === "expired" && patientContact === "" && patientPhone === "") return undefined;
      return { patientName, patientContact, patientPhone, slotStartTime };
    }
    case "failed":
      return undefined;
  }
}

// eslint-disable-next-line no-control-regex
const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();

/** Times in UTC, ISO 8601 without milliseconds: unambiguous whatever the patient's zone. */
const utc = (d: Date | undefined): string | undefined =>
  d && !Number.isNaN(d.getTime()) ? `${d.toISOString().replace(/\.\d{3}Z$/, "Z")} (UTC)` : undefined;

interface Wording {
  subject: string;
  /** Completes "Your appointment on <time> ..." or "Your appointment ...". */
  what: string;
  next: string;
}

const WORDING: Record<"offered" | "confirmed" | "cancelled" | "expired", Wording> = {
  offered: {
    subject: "A seat freed up for you",
    what: "had a seat free up, and it is held for you from the waitlist",
    next: "Confirm it in the app before the hold lapses, or it goes to the next patient waiting.",
  },
  confirmed: { subject: "Your appointment is confirmed", what: "is confirmed", next: "See you then." },
  cancelled: { subject: "Your appointment was cancelled", what: "was cancelled", next: "You can book another slot at any time." },
  expired: {
    subject: "Your appointment hold lapsed",
    what: "was held for you but not confirmed in time, so the hold lapsed",
    next: "You can book again at any time.",
  },
};

/**
 * The messages for one event. The only id a patient sees is the booking id (what support asks
 * for); slot, doctor and patient ids stay internal.
 */
export function renderMessages(event: eventsV1.BookingEvent, contact: PatientContact): OutgoingMessage[] {
  const payload = event.payload;
  const kind = payload?.$case === "created" && payload.value.waitlistOffer ? "offered" : payload?.$case;
  if (kind !== "offered" && kind !== "confirmed" && kind !== "cancelled" && kind !== "expired") return [];
  const wording = WORDING[kind];
  const when = utc(contact.slotStartTime);
  const until = payload?.$case === "created" ? utc(payload.value.expireTime) : undefined;
  const sentence = `Your appointment${when ? ` on ${when}` : ""} ${wording.what}${kind === "offered" && until ? ` until ${until}` : ""}.`;
  const name = printable(contact.patientName);
  return recipientsOf(contact).map(({ channel, recipient }) =>
    channel === "email"
      ? {
          channel,
          recipient,
          subject: wording.subject,
          text: `${name ? `Hello ${name},` : "Hello,"}\n\n${sentence}\n${wording.next}\n\nBooking reference: ${event.bookingId}\n`,
        }
      : { channel, recipient, subject: "", text: `Clinic: ${sentence} Booking ${event.bookingId}.` },
  );
}
