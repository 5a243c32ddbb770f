import { callerMetadata } from "@clinic/platform/auth";
import { promiseClient } from "@clinic/platform/grpc";
import { bookingV1 } from "@clinic/proto";
import type { ActiveBookingCounter } from "./grpc-handlers";

/** The booking service, asked whether a doctor still has active bookings before a delete. */
export function activeBookingCounter(client: bookingV1.BookingServiceClient): ActiveBookingCounter {
  const booking = promiseClient(client, bookingV1.BookingServiceService);
  return {
    countActiveBookings: async (doctorId, caller) =>
      (await booking.countActiveBookings({ doctorId }, { metadata: callerMetadata(caller) })).count,
  };
}
