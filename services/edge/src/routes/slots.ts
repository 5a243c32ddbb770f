import { access } from "../access";
import { Type } from "@sinclair/typebox";
import type { Backends } from "../backends";
import { ApiError } from "../errors";
import { rpc } from "../grpc-call";
import { bodyErrors, errorResponses, ref } from "../schemas/common";
import { DoctorParams } from "../schemas/doctor";
import {
  BatchGetSlotsQuery,
  CreateSlotBody,
  CreateSlotsBody,
  ListSlotsQuery,
  SlotBatchSchema,
  SlotListSchema,
  SlotPageSchema,
  SlotParams,
  SlotSchema,
  UpdateSlotBody,
  slotJson,
  weekdayOf,
} from "../schemas/slot";
import type { EdgeFastify } from "../type-provider";
import { operation } from "./operation";
import { pageJson, pageRequest } from "./pages";
import { API_PREFIX } from "./prefix";

const tags = ["slots"];
const ID = { id: "slotId" };

/**
 * An RFC 3339 string the schema accepted, as a Date. The `date-time` format admits a few strings
 * JavaScript cannot represent (a leap second `23:59:60`); those are refused like any bad field.
 */
function instant(field: string, value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new ApiError(400, "VALIDATION_FAILED", `${field}: is not a representable instant`, [
      { field, message: "is not a representable instant" },
    ]);
  }
  return date;
}

export function slotRoutes(api: EdgeFastify, { slot }: Backends): void {
  api.post(
    "/doctors/:doctorId/slots",
    operation(tags, access.ownDoctor("doctorId"), {
      operationId: "createSlot",
      summary: "Publish one slot of a doctor",
      params: DoctorParams,
      body: CreateSlotBody,
      response: { 201: ref(SlotSchema, { description: "Created" }), ...errorResponses(404, 409, 422, ...bodyErrors) },
    }),
    async (request, reply) => {
      const { body } = request;
      const res = await rpc(request.caller, slot.createSlot, {
        doctorId: request.params.doctorId,
        startTime: instant("startTime", body.startTime),
        endTime: instant("endTime", body.endTime),
        capacity: body.capacity,
      });
      const created = slotJson(res.slot);
      return reply.code(201).header("location", `${API_PREFIX}/slots/${created.id}`).send(created);
    },
  );

  api.post(
    "/doctors/:doctorId/slots/batch",
    operation(tags, access.ownDoctor("doctorId"), {
      operationId: "createSlotsFromSchedule",
      summary: "Publish a weekly schedule as slots",
      description:
        "Expands the weekly schedule over the date range into slots, all or nothing; refused when any " +
        "generated slot overlaps an existing slot of the doctor.",
      params: DoctorParams,
      body: CreateSlotsBody,
      response: { 201: ref(SlotListSchema, { description: "Created" }), ...errorResponses(404, 409, 422, ...bodyErrors) },
    }),
    async (request, reply) => {
      const { body } = request;
      const res = await rpc(request.caller, slot.createSlots, {
        doctorId: request.params.doctorId,
        timeZone: body.timeZone,
        startDate: body.startDate,
        endDate: body.endDate,
        weekdays: body.weekdays.map(weekdayOf),
        dayStart: body.dayStart,
        dayEnd: body.dayEnd,
        slotMinutes: body.slotMinutes,
        capacity: body.capacity,
      });
      return reply.code(201).send({ slots: res.slots.map(slotJson) });
    },
  );

  api.get(
    "/doctors/:doctorId/slots",
    operation(tags, access.public, {
      operationId: "listDoctorSlots",
      summary: "List a doctor's slots by start time",
      querystring: ListSlotsQuery,
      params: DoctorParams,
      response: { 200: ref(SlotPageSchema), ...errorResponses() },
    }),
    async (request) => {
      const q = request.query;
      const res = await rpc(request.caller, slot.listSlots, {
        doctorId: request.params.doctorId,
        startFrom: q.startFrom === undefined ? undefined : instant("startFrom", q.startFrom),
        startTo: q.startTo === undefined ? undefined : instant("startTo", q.startTo),
        ...pageRequest(q),
      });
      return pageJson("slots", res.slots.map(slotJson), res.nextPageToken);
    },
  );

  api.get(
    "/slots",
    operation(tags, access.public, {
      operationId: "batchGetSlots",
      summary: "Get several slots by id",
      querystring: BatchGetSlotsQuery,
      response: { 200: ref(SlotBatchSchema), ...errorResponses() },
    }),
    async (request) => {
      const res = await rpc(request.caller, slot.batchGetSlots, { ids: request.query.ids });
      return { slots: res.slots.map(slotJson), missingIds: res.missingIds };
    },
  );

  api.get(
    "/slots/:slotId",
    operation(tags, access.public, {
      operationId: "getSlot",
      summary: "Get a slot",
      params: SlotParams,
      response: { 200: ref(SlotSchema), ...errorResponses(404) },
    }),
    async (request) => slotJson((await rpc(request.caller, slot.getSlot, { id: request.params.slotId }, ID)).slot),
  );

  api.patch(
    "/slots/:slotId",
    operation(tags, access.doctorOrAdmin, {
      operationId: "updateSlotCapacity",
      summary: "Change a slot's capacity",
      description: "Refused (422) below the seats already held.",
      params: SlotParams,
      body: UpdateSlotBody,
      response: { 200: ref(SlotSchema), ...errorResponses(404, 422, ...bodyErrors) },
    }),
    async (request) => {
      const res = await rpc(
        request.caller, slot.updateSlotCapacity,
        { id: request.params.slotId, capacity: request.body.capacity },
        ID,
      );
      return slotJson(res.slot);
    },
  );

  api.delete(
    "/slots/:slotId",
    operation(tags, access.doctorOrAdmin, {
      operationId: "deleteSlot",
      summary: "Delete a slot",
      description: "Refused while the slot has active bookings.",
      params: SlotParams,
      response: { 204: Type.Null({ description: "Deleted" }), ...errorResponses(404, 409, 422) },
    }),
    async (request, reply) => {
      await rpc(request.caller, slot.deleteSlot, { id: request.params.slotId }, ID);
      return reply.code(204).send(null);
    },
  );
}
