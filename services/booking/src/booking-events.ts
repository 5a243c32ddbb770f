import { randomUUID } from "node:crypto";
import { eventsV1 } from "@clinic/proto";
import type { BookingRow } from "./booking-repository";

export const BOOKING_EVENTS_TOPIC = "clinic.booking.events.v1";

export type BookingEventType = "booking.created" | "booking.confirmed" | "booking.cancelled" | "booking.expired";

/** An outbox row: written in the same transaction as the state change it describes. */
export interface OutboxRow {
  event_id: string;
  topic: string;
  message_key: string;
  event_type: BookingEventType;
  payload: Buffer;
}

/**
 * The event for a booking transition, keyed by slot so one slot's events stay in order on one
 * partition. Contact details travel only in the events the notifier needs to reach the patient.
 */
export function bookingEvent(type: BookingEventType, row: BookingRow, occurredAt: Date = new Date()): OutboxRow {
  const contact = { patientName: row.patient_name, patientContact: row.patient_contact, slotStartTime: row.slot_start_time };
  const payload: eventsV1.BookingEvent["payload"] =
    type === "booking.created"
      ? { $case: "created", value: { ...contact, expireTime: row.expires_at } }
      : type === "booking.confirmed"
        ? { $case: "confirmed", value: contact }
        : type === "booking.cancelled"
          ? { $case: "cancelled", value: contact }
          : { $case: "expired", value: {} };
  const event: eventsV1.BookingEvent = {
    eventId: randomUUID(),
    occurTime: occurredAt,
    bookingId: row.id,
    slotId: row.slot_id,
    doctorId: row.doctor_id,
    patientId: row.patient_id,
    payload,
  };
  return {
    event_id: event.eventId,
    topic: BOOKING_EVENTS_TOPIC,
    message_key: row.slot_id,
    event_type: type,
    payload: Buffer.from(eventsV1.BookingEvent.encode(event).finish()),
  };
}
