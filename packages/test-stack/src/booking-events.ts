import { randomBytes, randomUUID } from "node:crypto";
import type { eventsV1 } from "@clinic/proto";

/** A fresh E.164 number in the fictional 555 range, and a fresh e-mail address. */
export const newPhone = (): string => `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
export const newEmail = (): string => `patient-${randomBytes(4).toString("hex")}@example.com`;

export interface EventOptions {
  bookingId?: string;
  slotId?: string;
  eventId?: string;
  contact?: string;
  phone?: string;
  name?: string;
  slotStartTime?: Date;
}

/** A BookingEvent of the given kind, with fresh ids unless given. */
export function bookingEvent(kind: "created" | "confirmed" | "cancelled" | "expired", options: EventOptions = {}): eventsV1.BookingEvent {
  const details = {
    patientName: options.name ?? "Jane Doe",
    patientContact: options.contact ?? "",
    patientPhone: options.phone ?? "",
    slotStartTime: options.slotStartTime ?? new Date("2026-03-02T09:30:00Z"),
  };
  const payload: eventsV1.BookingEvent["payload"] =
    kind === "created"
      ? { $case: "created", value: { ...details, expireTime: new Date(Date.now() + 120_000), rescheduledFrom: "", waitlistOffer: false } }
      : kind === "confirmed"
        ? { $case: "confirmed", value: details }
        : kind === "cancelled"
          ? { $case: "cancelled", value: { ...details, rescheduledTo: "" } }
          : { $case: "expired", value: details };
  return {
    eventId: options.eventId ?? randomUUID(),
    occurTime: new Date(),
    bookingId: options.bookingId ?? randomUUID(),
    slotId: options.slotId ?? randomUUID(),
    doctorId: randomUUID(),
    patientId: randomUUID(),
    payload,
  };
}
