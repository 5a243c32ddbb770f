import { access, accountOf } from "../access";
import type { AuditLog } from "../audit";
import type { Backends } from "../backends";
import { ApiError } from "../errors";
import { rpc } from "../grpc-call";
import { bodyErrors, errorResponses, ref } from "../schemas/common";
import type { EdgeFastify } from "../type-provider";
import { findAccount } from "./accounts";
import { answerCreated } from "./routes";
import { AccountSchema, AuditEventPageSchema, AuditEventQuery, CreateAccountBody, accountJson } from "./schemas";
import type { AuthService } from "./service";

/** Accounts admins create (doctors, more admins), the caller's own account, and the audit log. */
export function accountRoutes(api: EdgeFastify, auth: AuthService, backends: Backends, audit: AuditLog): void {
  api.post(
    "/accounts",
    {
      config: { access: access.admin },
      schema: {
        tags: ["auth", "admin"],
        operationId: "createAccount",
        summary: "Create a doctor or admin account (admin)",
        description: "A doctor account acts for one doctor record (`doctorId`), which must exist.",
        body: CreateAccountBody,
        response: { 201: ref(AccountSchema, { description: "Created" }), ...errorResponses(404, 409, ...bodyErrors) },
      },
    },
    async (request, reply) => {
      const { email, password, role, doctorId } = request.body;
      if ((role === "doctor") !== (doctorId !== undefined)) {
        throw new ApiError(400, "VALIDATION_FAILED", "doctorId: is required for doctor accounts and only for them", [
          { field: "doctorId", message: "is required for doctor accounts and only for them" },
        ]);
      }
      if (doctorId !== undefined) {
        // 404 DOCTOR_NOT_FOUND from the doctor service when the record does not exist.
        await rpc(request.caller, backends.doctor.getDoctor, { id: doctorId }, { id: "doctorId" });
      }
      return answerCreated(reply, () => auth.createAccount({ email, password, role, ...(doctorId ? { doctorId } : {}) }));
    },
  );

  api.get(
    "/accounts/me",
    {
      config: { access: access.account },
      schema: {
        tags: ["auth"],
        operationId: "getOwnAccount",
        summary: "The account the access token belongs to",
        response: { 200: ref(AccountSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      const account = await findAccount(auth.db, accountOf(request).accountId);
      if (!account) throw new ApiError(404, "ACCOUNT_NOT_FOUND", "the token's account no longer exists");
      return accountJson(account);
    },
  );

  api.get(
    "/admin/audit-events",
    {
      config: { access: access.admin },
      schema: {
        tags: ["admin"],
        operationId: "listAuditEvents",
        summary: "What admins changed through the API, newest first (admin)",
        querystring: AuditEventQuery,
        response: { 200: ref(AuditEventPageSchema), ...errorResponses() },
      },
    },
    async (request) => {
      const page = await audit.list({ pageSize: request.query.pageSize ?? 20, pageToken: request.query.pageToken ?? "" });
      return {
        events: page.events.map(({ at, ...event }) => ({ ...event, time: at.toISOString() })),
        ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      };
    },
  );
}
