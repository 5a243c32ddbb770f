import { bookingV1 } from "@clinic/proto";
import { access, accountOf } from "../access";
import type { Backends } from "../backends";
import { rpc } from "../grpc-call";
import { PatientParams } from "../schemas/booking";
import { bodyErrors, errorResponses, ref } from "../schemas/common";
import { SlotParams } from "../schemas/slot";
import { JoinWaitlistBody, WaitlistEntrySchema, WaitlistListSchema, waitlistEntryJson } from "../schemas/waitlist";
import type { EdgeFastify } from "../type-provider";
import { operation } from "./operation";

const tags = ["waitlist"];
const SLOT = { slot_id: "slotId" };

/**
 * A full slot's waitlist: the caller joins and leaves in their own name; a freed seat is offered
 * to the first in line as a `pending` booking held for them (they are notified) until
 * WAITLIST_OFFER_TTL_MS, then to the next.
 */
export function waitlistRoutes(api: EdgeFastify, { booking }: Backends): void {
  api.post(
    "/slots/:slotId/waitlist",
    operation(tags, access.account, {
      operationId: "joinWaitlist",
      summary: "Join a full slot's waitlist",
      description:
        "Once per slot. A seat freed by a cancel, a lapsed hold, a move or a raised capacity goes to the first patient " +
        "waiting, as a `pending` booking held for them (notified by e-mail and text) until it lapses; then to the next. " +
        "While anyone waits, no walk-in booking gets a freed seat. 409 `SLOT_HAS_SEATS` when a seat is free (book it), " +
        "`ALREADY_ON_WAITLIST`, `ALREADY_BOOKED`.",
      params: SlotParams,
      body: JoinWaitlistBody,
      response: { 201: ref(WaitlistEntrySchema, { description: "Joined" }), ...errorResponses(404, 409, ...bodyErrors) },
    }),
    async (request, reply) => {
      const { body } = request;
      const res = await rpc(
        request.caller,
        booking.joinWaitlist,
        bookingV1.JoinWaitlistRequest.fromPartial({
          slotId: request.params.slotId,
          patientId: accountOf(request).accountId,
          patientName: body.patientName,
          patientContact: body.patientContact,
          patientPhone: body.patientPhone ?? "",
        }),
        SLOT,
      );
      return reply.code(201).send(waitlistEntryJson(res.entry));
    },
  );

  api.delete(
    "/slots/:slotId/waitlist",
    operation(tags, access.account, {
      operationId: "leaveWaitlist",
      summary: "Leave a slot's waitlist",
      description: "404 `NOT_ON_WAITLIST` when the caller is not waiting. A seat offered already stays their booking to confirm or cancel.",
      params: SlotParams,
      response: { 200: ref(WaitlistEntrySchema), ...errorResponses(404) },
    }),
    async (request) =>
      waitlistEntryJson(
        (await rpc(request.caller, booking.leaveWaitlist, { slotId: request.params.slotId, patientId: accountOf(request).accountId }, SLOT)).entry,
      ),
  );

  api.get(
    "/slots/:slotId/waitlist",
    operation(tags, access.doctorOrAdmin, {
      operationId: "listSlotWaitlist",
      summary: "A slot's waitlist, those waiting first in order (its doctor, admins)",
      params: SlotParams,
      response: { 200: ref(WaitlistListSchema), ...errorResponses(404) },
    }),
    async (request) => ({
      entries: (await rpc(request.caller, booking.listWaitlist, { slotId: request.params.slotId, patientId: "" }, SLOT)).entries.map(waitlistEntryJson),
    }),
  );

  api.get(
    "/patients/:patientId/waitlist",
    operation(tags, access.ownPatient("patientId"), {
      operationId: "listPatientWaitlist",
      summary: "A patient's waitlist entries, newest first",
      params: PatientParams,
      response: { 200: ref(WaitlistListSchema), ...errorResponses() },
    }),
    async (request) => ({
      entries: (await rpc(request.caller, booking.listWaitlist, { patientId: request.params.patientId, slotId: "" }, { patient_id: "patientId" })).entries.map(
        waitlistEntryJson,
      ),
    }),
  );
}

