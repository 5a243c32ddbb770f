import { eventsV1 } from "@clinic/proto";
import { contactOf, notifiable, recipientsOf, renderMessages, type PatientContact } from "./notification-policy";

/** booking.expired as producers older than its contact fields sent it. */
const NO_CONTACT = { patientName: "", patientContact: "", patientPhone: "", slotStartTime: undefined };

const BOOKING = "0194d3f2-7a1b-7c3d-8e4f-5a6b7c8d9e0f";
const slotStartTime = new Date("2026-03-02T09:30:00.000Z");

function event(payload: eventsV1.BookingEvent["payload"]): eventsV1.BookingEvent {
  return {
    eventId: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
    occurTime: new Date(),
    bookingId: BOOKING,
    slotId: "11111111-2222-4333-8444-555555555555",
    doctorId: "66666666-7777-4888-8999-aaaaaaaaaaaa",
    patientId: "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff",
    payload,
  };
}

const contact = (patientContact: string, patientPhone = ""): PatientContact => ({ patientName: "Jane Doe", patientContact, patientPhone, slotStartTime });

describe("notification policy", () => {
  it("notifies on confirmed, cancelled and expired; not on created or failed", () => {
    const c = { ...contact("jane@example.com"), slotStartTime };
    expect(notifiable(event({ $case: "confirmed", value: c }))).toBe(true);
    expect(notifiable(event({ $case: "cancelled", value: { ...c, rescheduledTo: "" } }))).toBe(true);
    // Moved by a reschedule: the new booking's confirmation tells the patient, not a "cancelled".
    expect(notifiable(event({ $case: "cancelled", value: { ...c, rescheduledTo: "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10" } }))).toBe(false);
    expect(notifiable(event({ $case: "expired", value: NO_CONTACT }))).toBe(true);
    expect(notifiable(event({ $case: "created", value: { ...c, expireTime: new Date(), rescheduledFrom: "", waitlistOffer: false } }))).toBe(false);
    // A seat offered from the waitlist is held for the patient: they must hear of it.
    const offer = event({ $case: "created", value: { ...c, expireTime: new Date("2026-03-02T09:40:00Z"), rescheduledFrom: "", waitlistOffer: true } });
    expect(notifiable(offer)).toBe(true);
    expect(renderMessages(offer, contactOf(offer)!)[0]!.text).toMatch(/held for you from the waitlist until 2026-03-02T09:40:00Z/);
    expect(notifiable(event({ $case: "failed", value: { reason: eventsV1.BookingFailureReason.BOOKING_FAILURE_REASON_NO_SEAT } }))).toBe(false);
    expect(notifiable(event(undefined))).toBe(false);
  });

  it("picks e-mail for an address, SMS for the phone or an E.164 contact, one of each at most", () => {
    expect(recipientsOf(contact("jane@example.com", "+15550001234"))).toEqual([
      { channel: "email", recipient: "jane@example.com" },
      { channel: "sms", recipient: "+15550001234" },
    ]);
    expect(recipientsOf(contact("jane@example.com"))).toEqual([{ channel: "email", recipient: "jane@example.com" }]);
    expect(recipientsOf(contact("+447700900123"))).toEqual([{ channel: "sms", recipient: "+447700900123" }]);
    // The phone field wins over a phone-number contact: still one SMS.
    expect(recipientsOf(contact("+447700900123", "+15550001234"))).toEqual([{ channel: "sms", recipient: "+15550001234" }]);
    expect(recipientsOf(contact("07700 900123"))).toEqual([]);
    expect(recipientsOf(contact("jane@example.com", "not a phone"))).toEqual([{ channel: "email", recipient: "jane@example.com" }]);
  });

  it("renders short texts with the booking id and the time in UTC, and no other ids", () => {
    const e = event({ $case: "confirmed", value: contact("jane@example.com", "+15550001234") });
    const [email, sms] = renderMessages(e, contactOf(e)!);
    expect(email).toMatchObject({ channel: "email", recipient: "jane@example.com", subject: "Your appointment is confirmed" });
    expect(email!.text).toContain("Hello Jane Doe,");
    expect(email!.text).toContain("2026-03-02T09:30:00Z (UTC)");
    expect(email!.text).toContain(BOOKING);
    expect(sms).toMatchObject({ channel: "sms", recipient: "+15550001234", subject: "" });
    expect(sms!.text).toBe(`Clinic: Your appointment on 2026-03-02T09:30:00Z (UTC) is confirmed. Booking ${BOOKING}.`);
    for (const m of [email!, sms!]) {
      expect(m.text).not.toContain(e.slotId);
      expect(m.text).not.toContain(e.doctorId);
      expect(m.text).not.toContain(e.patientId);
      expect(m.text).not.toContain(e.eventId);
    }
  });

  it("words cancelled and lapsed holds, with or without a known start time", () => {
    const cancelled = event({ $case: "cancelled", value: { ...contact("+15550001234"), rescheduledTo: "" } });
    expect(renderMessages(cancelled, contactOf(cancelled)!)[0]!.text).toContain("was cancelled");
    // An older producer's booking.expired carries no contact; a current one does.
    const expired = event({ $case: "expired", value: NO_CONTACT });
    expect(contactOf(expired)).toBeUndefined();
    expect(contactOf(event({ $case: "expired", value: contact("jane@example.com") }))).toEqual(contact("jane@example.com"));
    const [email] = renderMessages(expired, { ...contact("jane@example.com"), slotStartTime: undefined });
    expect(email!.subject).toBe("Your appointment hold lapsed");
    expect(email!.text).toContain("Your appointment was held for you but not confirmed in time");
  });
});
