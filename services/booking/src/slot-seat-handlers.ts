import { requireDoctorOrAdmin, requireRole } from "@clinic/platform/auth";
import { DomainError, notFound } from "@clinic/platform/errors";
import { Validator, type ServiceHandlers } from "@clinic/platform/grpc";
import type { bookingV1 } from "@clinic/proto";
import type { BookingHandlerContext } from "./booking-handler-context";

type SlotSeatHandlers = Pick<
  ServiceHandlers<typeof bookingV1.BookingServiceService>,
  "setSlotCapacity" | "retireSlot" | "countActiveBookings"
>;

/**
 * The calls other services make for the caller who changes a slot or a doctor: SetSlotCapacity
 * and RetireSlot from the slot service, CountActiveBookings from the doctor service. Booking owns
 * the seats held, so it has the last word.
 */
export function slotSeatHandlers({ router, slots }: BookingHandlerContext): SlotSeatHandlers {
  return {
    // The doctor id comes with the request: it is checked against the caller here, and against
    // the slot's inventory row by the shard (see BookingShardRepository.setCapacity).
    async setSlotCapacity(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const slotId = v.uuid("slot_id", req.slotId);
      const doctorId = v.uuid("doctor_id", req.doctorId);
      const capacity = v.int("capacity", req.capacity, { min: 1, max: 100_000 });
      const startTime = v.date("start_time", req.startTime);
      const endTime = v.date("end_time", req.endTime);
      if (startTime && endTime && startTime >= endTime) v.add("end_time", "must be after start_time");
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      const row = await router.forDoctor(doctorId).setCapacity({ id: slotId, doctorId, startTime: startTime!, endTime: endTime!, capacity }, capacity);
      slots.invalidate(slotId);
      if (!row) {
        throw new DomainError("unprocessable", "CAPACITY_BELOW_HELD", "more seats are already held than the new capacity");
      }
      if (row.retired) throw notFound("slot", slotId);
      return { availability: { slotId, capacity: row.capacity, held: row.held, remaining: row.capacity - row.held } };
    },

    async retireSlot(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const slotId = v.uuid("slot_id", req.slotId);
      const doctorId = v.uuid("doctor_id", req.doctorId);
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      const retired = await router.forDoctor(doctorId).retire(slotId, doctorId);
      slots.invalidate(slotId);
      if (!retired) throw new DomainError("conflict", "SLOT_HAS_ACTIVE_BOOKINGS", "the slot still has active bookings");
      return {};
    },

    async countActiveBookings(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      return { count: await router.forDoctor(doctorId).countActive(doctorId) };
    },
  };
}
