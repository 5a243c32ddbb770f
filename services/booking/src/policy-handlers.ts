import { requireDoctorOrAdmin } from "@clinic/platform/auth";
import { Validator, type CallContext } from "@clinic/platform/grpc";
import type { bookingV1 } from "@clinic/proto";
import { MAX_CANCELLATION_WINDOW_HOURS, readPolicies, writePolicy, type BookingPolicy, type PolicyCache } from "./booking-policy";
import type { BookingRouter } from "./booking-router";
import type { BookingShardRepository } from "./booking-repository";

const toProto = (policy: BookingPolicy): bookingV1.BookingPolicy => ({
  doctorId: policy.doctorId,
  cancellationWindowHours: policy.cancellationWindowHours,
  custom: policy.custom,
});

/**
 * GetBookingPolicy (public: a patient sees the rule before booking) and SetBookingPolicy (the
 * doctor themselves or an admin). The policy is written to the doctor's shard, where the cancel
 * that it governs checks it.
 */
export function policyHandlers(router: BookingRouter<BookingShardRepository>, policies: PolicyCache, defaultWindowHours: number) {
  const read = async (doctorId: string): Promise<BookingPolicy> =>
    (await readPolicies(router.forDoctor(doctorId).db, [doctorId], defaultWindowHours)).get(doctorId)!;

  return {
    async getBookingPolicy(req: bookingV1.GetBookingPolicyRequest): Promise<bookingV1.GetBookingPolicyResponse> {
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      v.check();
      return { policy: toProto(await read(doctorId)) };
    },

    async setBookingPolicy(req: bookingV1.SetBookingPolicyRequest, { caller }: CallContext): Promise<bookingV1.SetBookingPolicyResponse> {
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      const hours =
        req.cancellationWindowHours === undefined
          ? undefined
          : v.int("cancellation_window_hours", req.cancellationWindowHours, { min: 0, max: MAX_CANCELLATION_WINDOW_HOURS });
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      await writePolicy(router.forDoctor(doctorId).db, doctorId, hours);
      const policy = await read(doctorId);
      policies.remember(doctorId, policy.cancellationWindowHours);
      return { policy: toProto(policy) };
    },
  };
}
