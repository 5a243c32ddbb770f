import { DomainError, callerMetadata, domainErrorFromRemote, fromServiceError, isServiceError, unary, type Caller } from "@clinic/platform";
import type { bookingV1, doctorV1 } from "@clinic/proto";
import { status } from "@grpc/grpc-js";
import type { SlotRow } from "./slot-repository";

/**
 * How the slot service learns whether a doctor exists (the doctor service owns doctors; doctors
 * are public to read, so the lookup goes without the caller's token). Calls in `SeatInventory`
 * change state and are made on behalf of `caller`: its token travels on, and booking checks it.
 */
export interface DoctorDirectory {
  doctorExists(doctorId: string): Promise<boolean>;
}

/**
 * The booking service's seat inventory for a slot. It owns the seats held, so it has the last
 * word on a capacity change or on closing a slot.
 */
export interface SeatInventory {
  /** Refused (FAILED_PRECONDITION, CAPACITY_BELOW_HELD) below the seats already held. */
  setCapacity(slot: SlotRow, capacity: number, caller: Caller): Promise<void>;
  /** Refused (SLOT_HAS_ACTIVE_BOOKINGS) while the slot has active bookings. */
  retire(slot: SlotRow, caller: Caller): Promise<void>;
}

/**
 * A failed call to another service, as this service's own error:
 * - the peer down or too slow (UNAVAILABLE, DEADLINE_EXCEEDED, after the client's retries of
 *   idempotent methods) is "unavailable", so our caller may retry, never INTERNAL;
 * - a domain answer (FAILED_PRECONDITION CAPACITY_BELOW_HELD, ABORTED ...) keeps its code, reason
 *   and field violations, so the meaning reaches our caller unchanged;
 * - anything else (INTERNAL, UNKNOWN, a non-gRPC error) stays an internal error.
 */
export function fromRemote(dependency: "doctor" | "booking", err: unknown): unknown {
  if (!isServiceError(err)) return err;
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) {
    return new DomainError(
      "unavailable",
      `${dependency.toUpperCase()}_SERVICE_UNAVAILABLE`,
      `the ${dependency} service did not answer (${status[err.code]}); try again`,
    );
  }
  return domainErrorFromRemote(fromServiceError(err)) ?? err;
}

export function doctorDirectory(client: doctorV1.DoctorServiceClient): DoctorDirectory {
  return {
    async doctorExists(doctorId) {
      try {
        await unary(client.getDoctor.bind(client), { id: doctorId });
        return true;
      } catch (err) {
        if (isServiceError(err) && err.code === status.NOT_FOUND) return false;
        throw fromRemote("doctor", err);
      }
    },
  };
}

export function seatInventory(client: bookingV1.BookingServiceClient): SeatInventory {
  return {
    async setCapacity(slot, capacity, caller) {
      try {
        // The slot's doctor routes the call to its booking shard; the times let the booking
        // service create the inventory row if the slot has none yet.
        await unary(
          client.setSlotCapacity.bind(client),
          { slotId: slot.id, doctorId: slot.doctor_id, capacity, startTime: slot.start_time, endTime: slot.end_time },
          callerMetadata(caller),
        );
      } catch (err) {
        throw fromRemote("booking", err);
      }
    },
    async retire(slot, caller) {
      try {
        await unary(client.retireSlot.bind(client), { slotId: slot.id, doctorId: slot.doctor_id }, callerMetadata(caller));
      } catch (err) {
        throw fromRemote("booking", err);
      }
    },
  };
}
