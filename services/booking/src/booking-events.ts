import { protoOutboxEvent, type OutboxEvent } from "@clinic/platform/outbox";
import { eventsV1 } from "@clinic/proto";
import type { BookingRow } from "./booking-repository";

export type BookingEventType = "booking.created" | "booking.confirmed" | "booking.cancelled" | "booking.expired";

/**
 * The event for a booking transition, keyed by slot so one slot's events stay in order on one
 * partition. Contact details travel only in the events the notifier needs to reach the patient.
 */
export function bookingEvent(topic: string, type: BookingEventType, row: BookingRow, occurredAt: Date = new Date()): OutboxEvent {
  const contact = {
    patientName: row.patient_name,
    patientContact: row.patient_contact,
    patientPhone: row.patient_phone,
    slotStartTime: row.slot_start_time,
  };
  const payload: eventsV1.BookingEvent["payload"] =
    type === "booking.created"
      ? { $case: "created", value: { ...contact, expireTime: row.expires_at, rescheduledFrom: row.rescheduled_from ?? "", waitlistOffer: row.waitlist_entry_id !== null } }
      : type === "booking.confirmed"
        ? { $case: "confirmed", value: contact }
        : type === "booking.cancelled"
          ? { $case: "cancelled", value: { ...contact, rescheduledTo: row.rescheduled_to ?? "" } }
          : { $case: "expired", value: contact };
  return protoOutboxEvent(eventsV1.BookingEvent, { topic, type, key: row.slot_id, messageType: "clinic.events.v1.BookingEvent", occurTime: occurredAt }, (envelope) => ({
    ...envelope,
    bookingId: row.id,
    slotId: row.slot_id,
    doctorId: row.doctor_id,
    patientId: row.patient_id,
    payload,
  }));
}
