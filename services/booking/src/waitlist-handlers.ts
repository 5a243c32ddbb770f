import { requireDoctorOrAdmin, requirePatientOrAdmin, type Caller } from "@clinic/platform/auth";
import type { Knex } from "@clinic/platform/db";
import { Validator, type CallContext } from "@clinic/platform/grpc";
import type { bookingV1 } from "@clinic/proto";
import type { BookingMetrics } from "./booking-metrics";
import type { BookingRouter } from "./booking-router";
import type { BookingShardRepository } from "./booking-repository";
import { patientDetails } from "./patient-details";
import type { SlotInfo } from "./slot-client";
import { joinWaitlist, leaveWaitlist, listWaitlist, toWaitlistEntry, type EntryView } from "./waitlist";

/**
 * JoinWaitlist and LeaveWaitlist for a patient (or an admin in their name), ListWaitlist of a
 * patient (theirs) or of a slot (its doctor's, admins'). The queue lives in the shard of the
 * slot's doctor; a patient's entries are gathered from every shard.
 */
export function waitlistHandlers(
  router: BookingRouter<BookingShardRepository>,
  requireSlot: (slotId: string) => Promise<SlotInfo>,
  metrics: BookingMetrics,
) {
  /** A patient's own change to a slot's queue, in the shard of the slot's doctor. */
  async function inSlotQueue(
    caller: Caller,
    slotId: string,
    patientId: string,
    outcome: "waitlist_joined" | "waitlist_left",
    change: (db: Knex) => Promise<EntryView>,
  ): Promise<{ entry: bookingV1.WaitlistEntry }> {
    requirePatientOrAdmin(caller, patientId);
    const slot = await requireSlot(slotId);
    const entry = await change(router.forDoctor(slot.doctorId).db);
    metrics.outcomes.inc({ outcome });
    return { entry: toWaitlistEntry(entry) };
  }

  return {
    async joinWaitlist(req: bookingV1.JoinWaitlistRequest, { caller }: CallContext): Promise<bookingV1.JoinWaitlistResponse> {
      const v = new Validator();
      const slotId = v.uuid("slot_id", req.slotId);
      const patient = patientDetails(v, req);
      v.check();
      return inSlotQueue(caller, slotId, patient.patientId, "waitlist_joined", (db) => joinWaitlist(db, slotId, patient));
    },

    async leaveWaitlist(req: bookingV1.LeaveWaitlistRequest, { caller }: CallContext): Promise<bookingV1.LeaveWaitlistResponse> {
      const v = new Validator();
      const slotId = v.uuid("slot_id", req.slotId);
      const patientId = v.uuid("patient_id", req.patientId);
      v.check();
      return inSlotQueue(caller, slotId, patientId, "waitlist_left", (db) => leaveWaitlist(db, slotId, patientId));
    },

    async listWaitlist(req: bookingV1.ListWaitlistRequest, { caller }: CallContext): Promise<bookingV1.ListWaitlistResponse> {
      const v = new Validator();
      if ((req.patientId === "") === (req.slotId === "")) v.add("patient_id", "exactly one of patient_id, slot_id is required");
      const patientId = req.patientId ? v.uuid("patient_id", req.patientId) : undefined;
      const slotId = req.slotId ? v.uuid("slot_id", req.slotId) : undefined;
      v.check();
      if (patientId) {
        requirePatientOrAdmin(caller, patientId);
        const rows = (await Promise.all(router.shards.map((shard) => listWaitlist(shard.db, { patientId })))).flat();
        rows.sort((a, b) => b.joined_at.getTime() - a.joined_at.getTime());
        return { entries: rows.map((r) => toWaitlistEntry(r)) };
      }
      const slot = await requireSlot(slotId!);
      requireDoctorOrAdmin(caller, slot.doctorId);
      return { entries: (await listWaitlist(router.forDoctor(slot.doctorId).db, { slotId: slotId! })).map((r) => toWaitlistEntry(r)) };
    },
  };
}
