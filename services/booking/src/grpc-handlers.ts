import { defineService } from "@clinic/platform/grpc";
import { bookingV1 } from "@clinic/proto";
import { bookingHandlerContext, type BookingServiceDeps } from "./booking-handler-context";
import { bookingReadHandlers } from "./booking-read-handlers";
import { bookingWriteHandlers } from "./booking-write-handlers";
import { policyHandlers } from "./policy-handlers";
import { rescheduleHandlers } from "./reschedule-handlers";
import { slotSeatHandlers } from "./slot-seat-handlers";
import { waitlistHandlers } from "./waitlist-handlers";

export const BOOKING_SERVICE_NAME = "clinic.booking.v1.BookingService";

/**
 * Who may do what (the caller is verified before a handler runs; every check comes before any
 * change): patients book, confirm, cancel and list in their own name; doctors read the bookings
 * on their own slots and, through the slot and doctor services, change their own slots' seats;
 * admins do everything. Availability is public. Each group of handlers is in a module of its own.
 */
export function bookingService(deps: BookingServiceDeps) {
  const ctx = bookingHandlerContext(deps);
  return defineService(BOOKING_SERVICE_NAME, bookingV1.BookingServiceService, {
    ...bookingWriteHandlers(ctx),
    ...rescheduleHandlers(ctx),
    ...policyHandlers(deps.router, deps.policies, deps.defaultWindowHours),
    ...waitlistHandlers(deps.router, ctx.requireSlot, deps.metrics),
    ...bookingReadHandlers(ctx),
    ...slotSeatHandlers(ctx),
  });
}
