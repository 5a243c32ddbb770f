import type { Validator } from "@clinic/platform/grpc";
import { bookingV1 } from "@clinic/proto";
import { cancelDeadline, type PolicyCache } from "./booking-policy";
import { effectiveStatus, type BookingRow, type StoredStatus } from "./booking-repository";

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

/** The stored statuses a list request's `statuses` filter names; an unknown one is a violation. */
export function statusFilter(v: Validator, statuses: readonly bookingV1.BookingStatus[]): StoredStatus[] {
  const stored: StoredStatus[] = [];
  for (const status of statuses) {
    const entry = (Object.entries(TO_PROTO) as [StoredStatus, bookingV1.BookingStatus][]).find(([, p]) => p === status);
    if (entry) stored.push(entry[0]);
    else v.add("statuses", `unknown status ${status}`);
  }
  return stored;
}

export interface BookingView {
  /** Bookings as the API shows them, each with its doctor's cancellation deadline. */
  showAll(rows: readonly BookingRow[]): Promise<bookingV1.Booking[]>;
  show(row: BookingRow): Promise<bookingV1.Booking>;
}

export function bookingView(policies: PolicyCache, defaultWindowHours: number): BookingView {
  async function showAll(rows: readonly BookingRow[]): Promise<bookingV1.Booking[]> {
    const windows = await policies.windowHours(rows.map((r) => r.doctor_id));
    const now = new Date();
    return rows.map((r) => toBooking(r, windows.get(r.doctor_id) ?? defaultWindowHours, now));
  }
  return { showAll, show: async (row) => (await showAll([row]))[0]! };
}
