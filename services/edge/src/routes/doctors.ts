import { access } from "../access";
import { Type } from "@sinclair/typebox";
import type { Backends } from "../backends";
import { rpc } from "../grpc-call";
import { bodyErrors, errorResponses, ref } from "../schemas/common";
import {
  CreateDoctorBody,
  DoctorPageSchema,
  DoctorParams,
  DoctorSchema,
  ListDoctorsQuery,
  UpdateDoctorBody,
  doctorJson,
} from "../schemas/doctor";
import type { EdgeFastify } from "../type-provider";
import { operation } from "./operation";
import { pageJson, pageRequest } from "./pages";
import { API_PREFIX } from "./prefix";

const tags = ["doctors"];
const ID = { id: "doctorId" };

export function doctorRoutes(api: EdgeFastify, { doctor }: Backends): void {
  api.post(
    "/doctors",
    operation(tags, access.admin, {
      operationId: "createDoctor",
      summary: "Register a doctor",
      body: CreateDoctorBody,
      response: { 201: ref(DoctorSchema, { description: "Created" }), ...errorResponses(...bodyErrors) },
    }),
    async (request, reply) => {
      const { doctor: created } = await rpc(request.caller, doctor.createDoctor, request.body);
      const body = doctorJson(created);
      return reply.code(201).header("location", `${API_PREFIX}/doctors/${body.id}`).send(body);
    },
  );

  api.get(
    "/doctors",
    operation(tags, access.public, {
      operationId: "listDoctors",
      summary: "List doctors by name, optionally filtered",
      description: "Ordered by name; cursor paginated.",
      querystring: ListDoctorsQuery,
      response: { 200: ref(DoctorPageSchema), ...errorResponses() },
    }),
    async (request) => {
      const q = request.query;
      const res = await rpc(
        request.caller, doctor.listDoctors,
        {
          specialization: q.specialization ?? "",
          nameQuery: q.q ?? "",
          ...pageRequest(q),
        },
        { name_query: "q" },
      );
      return pageJson("doctors", res.doctors.map(doctorJson), res.nextPageToken);
    },
  );

  api.get(
    "/doctors/:doctorId",
    operation(tags, access.public, {
      operationId: "getDoctor",
      summary: "Get a doctor",
      params: DoctorParams,
      response: { 200: ref(DoctorSchema), ...errorResponses(404) },
    }),
    async (request) => {
      const res = await rpc(request.caller, doctor.getDoctor, { id: request.params.doctorId }, ID);
      return doctorJson(res.doctor);
    },
  );

  api.patch(
    "/doctors/:doctorId",
    operation(tags, access.admin, {
      operationId: "updateDoctor",
      summary: "Change a doctor's name or specialization",
      params: DoctorParams,
      body: UpdateDoctorBody,
      response: { 200: ref(DoctorSchema), ...errorResponses(404, ...bodyErrors) },
    }),
    async (request) => {
      const res = await rpc(
        request.caller, doctor.updateDoctor,
        { id: request.params.doctorId, name: request.body.name, specialization: request.body.specialization },
        ID,
      );
      return doctorJson(res.doctor);
    },
  );

  api.delete(
    "/doctors/:doctorId",
    operation(tags, access.admin, {
      operationId: "deleteDoctor",
      summary: "Delete a doctor",
      description: "Refused (409 `DOCTOR_HAS_ACTIVE_BOOKINGS`) while the doctor has active bookings on upcoming slots.",
      params: DoctorParams,
      response: { 204: Type.Null({ description: "Deleted" }), ...errorResponses(404, 409) },
    }),
    async (request, reply) => {
      await rpc(request.caller, doctor.deleteDoctor, { id: request.params.doctorId }, ID);
      return reply.code(204).send(null);
    },
  );
}
