import { callerMetadata, type Caller } from "@clinic/platform/auth";
import { fromRemoteError, promiseClient } from "@clinic/platform/grpc";
import { bookingV1 } from "@clinic/proto";
import type { SlotRow } from "./slot-repository";

/**
 * The booking service's seat inventory for a slot. It owns the seats held, so it has the last
 * word on a capacity change or on closing a slot. Calls change state and are made on behalf of
 * `caller`: its token travels on, and booking checks it.
 */
export interface SeatInventory {
  /** Refused (FAILED_PRECONDITION, CAPACITY_BELOW_HELD) below the seats already held. */
  setCapacity(slot: SlotRow, capacity: number, caller: Caller): Promise<void>;
  /** Refused (SLOT_HAS_ACTIVE_BOOKINGS) while the slot has active bookings. */
  retire(slot: SlotRow, caller: Caller): Promise<void>;
}

/**
 * Booking's refusals (CAPACITY_BELOW_HELD, SLOT_HAS_ACTIVE_BOOKINGS ...) reach our caller as
 * booking sent them; a booking service down or too slow is BOOKING_SERVICE_UNAVAILABLE.
 */
const fromBooking = (err: unknown): unknown => fromRemoteError(err, { peer: "booking", peerDown: "named", unexplained: "internal" });

export function seatInventory(client: bookingV1.BookingServiceClient): SeatInventory {
  const booking = promiseClient(client, bookingV1.BookingServiceService);
  return {
    async setCapacity(slot, capacity, caller) {
      // The slot's doctor routes the call to its booking shard; the times let the booking
      // service create the inventory row if the slot has none yet.
      const request = { slotId: slot.id, doctorId: slot.doctor_id, capacity, startTime: slot.start_time, endTime: slot.end_time };
      await booking.setSlotCapacity(request, { metadata: callerMetadata(caller) }).catch((err: unknown) => {
        throw fromBooking(err);
      });
    },
    async retire(slot, caller) {
      await booking.retireSlot({ slotId: slot.id, doctorId: slot.doctor_id }, { metadata: callerMetadata(caller) }).catch((err: unknown) => {
        throw fromBooking(err);
      });
    },
  };
}
