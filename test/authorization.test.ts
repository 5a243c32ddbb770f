import { randomUUID } from "node:crypto";
import { AUTHORIZATION_KEY, signAccessToken, type SigningOptions } from "@clinic/platform/auth";
import { isServiceError } from "@clinic/platform/errors";
import { createGrpcClient, unary } from "@clinic/platform/grpc";
import { bookingV1 } from "@clinic/proto";
import { Metadata, status } from "@grpc/grpc-js";
import { SignJWT, generateKeyPair } from "jose";
import { addMinutes, type Answer, hoursAhead, Http, metricValue, type Stack, startStack } from "@clinic/test-stack";

/**
 * Who may do what, route by route, against the whole platform: every API route is called as
 * six callers (anonymous, the patient who owns the booking, another patient, the doctor whose
 * slot it is, another doctor, an admin) and with six kinds of bad token, and must answer
 * exactly the status in the table. Ownership the edge cannot see (whose booking, whose slot)
 * is decided by the services, so these rows also prove the services' checks. The last part
 * calls a service directly over gRPC, bypassing the edge.
 */

type Caller = "anonymous" | "patient" | "otherPatient" | "doctor" | "otherDoctor" | "admin";
const CALLERS: Caller[] = ["anonymous", "patient", "otherPatient", "doctor", "otherDoctor", "admin"];

interface Request {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  path: string;
  json?: unknown;
  /** The answer is an event stream: only its status and headers are read. */
  stream?: boolean;
}

interface Row {
  operation: string;
  /** Expected status per caller, in CALLERS order. */
  expect: [number, number, number, number, number, number];
  /** Builds the request, creating fresh resources where the call changes them. */
  request(): Promise<Request>;
}

const PASSWORD = "matrix password 123";
const suffix = randomUUID().slice(0, 8);

describe("authorization matrix", () => {
  jest.setTimeout(300_000);
  let stack: Stack;
  let admin: Http;
  const tokens = {} as Record<Exclude<Caller, "anonymous">, string>;
  const accountIds = {} as Record<Exclude<Caller, "anonymous">, string>;
  let doctorId: string; // the doctor record of the "doctor" caller
  let otherDoctorId: string;
  let slotSeq = 0;

  const as = (caller: Caller): Http =>
    caller === "anonymous" ? new Http(stack.baseUrl) : new Http(stack.baseUrl, { token: async () => tokens[caller] }, { role: "patient" });

  async function signIn(email: string): Promise<{ accessToken: string; refreshToken: string }> {
    const res = await new Http(stack.baseUrl).post("/api/v1/auth/token", { email, password: PASSWORD });
    if (res.status !== 200) throw new Error(`sign-in ${email}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** A fresh slot of the "doctor" caller's record, never overlapping another. */
  async function slotOf(owner: string, capacity = 10): Promise<string> {
    const start = addMinutes(hoursAhead(24 * 30), 60 * ++slotSeq);
    const res = await admin.post(`/api/v1/doctors/${owner}/slots`, {
      startTime: start.toISOString(),
      endTime: addMinutes(start, 30).toISOString(),
      capacity,
    });
    if (res.status !== 201) throw new Error(`slot: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  /** A fresh slot of the doctor's whose one seat an admin booked: full, so anyone may wait for it. */
  async function fullSlotOf(owner: string): Promise<string> {
    const slotId = await slotOf(owner, 1);
    const res = await admin.post("/api/v1/bookings", { slotId, patientName: "Full Up", patientContact: "full@example.org" });
    if (res.status !== 201) throw new Error(`filling the slot: ${res.status} ${JSON.stringify(res.body)}`);
    return slotId;
  }

  /** A fresh pending booking of the "patient" caller on the "doctor" caller's slot. */
  async function bookingOfPatient(): Promise<string> {
    const res = await as("patient").post("/api/v1/bookings", {
      slotId: await slotOf(doctorId),
      patientName: "Pat Owner",
      patientContact: "owner@example.org",
    });
    if (res.status !== 201) throw new Error(`booking: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  beforeAll(async () => {
    stack = await startStack({
      name: "e2e_authz",
      notifier: { eventsTopic: `test.authz.events.${suffix}`, dlqTopic: `test.authz.dlq.${suffix}`, group: `test-authz-${suffix}` },
    });
    admin = stack.http();
    doctorId = (await admin.post("/api/v1/doctors", { name: "Dr. Owner", specialization: "cardiology" })).body.id;
    otherDoctorId = (await admin.post("/api/v1/doctors", { name: "Dr. Other", specialization: "cardiology" })).body.id;

    // Real accounts, signed in through the API: /accounts/me and revocation need them.
    const auth = stack.edge.auth;
    const accounts: Record<Exclude<Caller, "anonymous">, () => Promise<{ id: string; email: string }>> = {
      patient: () => auth.registerPatient(`owner.${suffix}@example.org`, PASSWORD),
      otherPatient: () => auth.registerPatient(`other.${suffix}@example.org`, PASSWORD),
      doctor: () => auth.createAccount({ email: `doc.${suffix}@example.org`, password: PASSWORD, role: "doctor", doctorId }),
      otherDoctor: () => auth.createAccount({ email: `doc2.${suffix}@example.org`, password: PASSWORD, role: "doctor", doctorId: otherDoctorId }),
      admin: () => auth.createAccount({ email: `admin.${suffix}@example.org`, password: PASSWORD, role: "admin" }),
    };
    for (const [caller, create] of Object.entries(accounts) as [Exclude<Caller, "anonymous">, () => Promise<{ id: string; email: string }>][]) {
      const account = await create();
      accountIds[caller] = account.id;
      tokens[caller] = (await signIn(account.email)).accessToken;
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const D = 201; // created
  const rows = (): Row[] => [
    { operation: "createDoctor", expect: [401, 403, 403, 403, 403, D], request: async () => ({ method: "POST", path: "/api/v1/doctors", json: { name: "Dr. New", specialization: "dermatology" } }) },
    { operation: "listDoctors", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: "/api/v1/doctors" }) },
    { operation: "getDoctor", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: `/api/v1/doctors/${doctorId}` }) },
    {
      operation: "updateDoctor",
      expect: [401, 403, 403, 403, 403, 200],
      request: async () => ({ method: "PATCH", path: `/api/v1/doctors/${doctorId}`, json: { specialization: "cardiology" } }),
    },
    {
      operation: "deleteDoctor",
      expect: [401, 403, 403, 403, 403, 204],
      request: async () => {
        const fresh = (await admin.post("/api/v1/doctors", { name: "Dr. Gone", specialization: "dermatology" })).body.id;
        return { method: "DELETE", path: `/api/v1/doctors/${fresh}` };
      },
    },
    {
      operation: "createSlot",
      expect: [401, 403, 403, D, 403, D],
      request: async () => {
        const start = addMinutes(hoursAhead(24 * 60), 60 * ++slotSeq);
        return {
          method: "POST",
          path: `/api/v1/doctors/${doctorId}/slots`,
          json: { startTime: start.toISOString(), endTime: addMinutes(start, 30).toISOString(), capacity: 2 },
        };
      },
    },
    {
      operation: "createSlotsFromSchedule",
      expect: [401, 403, 403, D, 403, D],
      request: async () => {
        // One day of its own per call, so schedules never overlap.
        const day = new Date(Date.now() + (200 + ++slotSeq) * 86_400_000).toISOString().slice(0, 10);
        return {
          method: "POST",
          path: `/api/v1/doctors/${doctorId}/slots/batch`,
          json: {
            timeZone: "Europe/Berlin",
            startDate: day,
            endDate: day,
            weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
            dayStart: "09:00",
            dayEnd: "10:00",
            slotMinutes: 30,
            capacity: 1,
          },
        };
      },
    },
    { operation: "listDoctorSlots", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: `/api/v1/doctors/${doctorId}/slots` }) },
    { operation: "batchGetSlots", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: `/api/v1/slots?ids=${await slotOf(doctorId)}` }) },
    { operation: "getSlot", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: `/api/v1/slots/${await slotOf(doctorId)}` }) },
    {
      operation: "updateSlotCapacity",
      expect: [401, 403, 403, 200, 403, 200],
      request: async () => ({ method: "PATCH", path: `/api/v1/slots/${await slotOf(doctorId)}`, json: { capacity: 5 } }),
    },
    { operation: "deleteSlot", expect: [401, 403, 403, 204, 403, 204], request: async () => ({ method: "DELETE", path: `/api/v1/slots/${await slotOf(doctorId)}` }) },
    {
      operation: "createBooking",
      expect: [401, D, D, D, D, D],
      request: async () => ({
        method: "POST",
        path: "/api/v1/bookings",
        json: { slotId: await slotOf(otherDoctorId), patientName: "Pat", patientContact: "pat@example.org" },
      }),
    },
    { operation: "listAllBookings", expect: [401, 403, 403, 403, 403, 200], request: async () => ({ method: "GET", path: "/api/v1/bookings" }) },
    { operation: "getBooking", expect: [401, 200, 403, 200, 403, 200], request: async () => ({ method: "GET", path: `/api/v1/bookings/${await bookingOfPatient()}` }) },
    { operation: "confirmBooking", expect: [401, 200, 403, 403, 403, 200], request: async () => ({ method: "POST", path: `/api/v1/bookings/${await bookingOfPatient()}/confirm` }) },
    // The doctor of the booking's slot may cancel it too (and is not bound by the cancellation window).
    { operation: "cancelBooking", expect: [401, 200, 403, 200, 403, 200], request: async () => ({ method: "POST", path: `/api/v1/bookings/${await bookingOfPatient()}/cancel` }) },
    {
      operation: "rescheduleBooking",
      // The doctor of the booking's slot moves it to another of their slots too.
      expect: [401, 200, 403, 200, 403, 200],
      request: async () => ({ method: "POST", path: `/api/v1/bookings/${await bookingOfPatient()}/reschedule`, json: { slotId: await slotOf(doctorId) } }),
    },
    {
      operation: "joinWaitlist",
      expect: [401, D, D, D, D, D],
      request: async () => ({ method: "POST", path: `/api/v1/slots/${await fullSlotOf(doctorId)}/waitlist`, json: { patientName: "Wes Waiting", patientContact: "wes@example.org" } }),
    },
    {
      operation: "leaveWaitlist",
      // Each caller leaves their own place: none waits here, so 404 for every account.
      expect: [401, 404, 404, 404, 404, 404],
      request: async () => ({ method: "DELETE", path: `/api/v1/slots/${await slotOf(doctorId)}/waitlist` }),
    },
    { operation: "listSlotWaitlist", expect: [401, 403, 403, 200, 403, 200], request: async () => ({ method: "GET", path: `/api/v1/slots/${await slotOf(doctorId)}/waitlist` }) },
    { operation: "listPatientWaitlist", expect: [401, 200, 403, 403, 403, 200], request: async () => ({ method: "GET", path: `/api/v1/patients/${accountIds.patient}/waitlist` }) },
    { operation: "getBookingPolicy", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: `/api/v1/doctors/${doctorId}/booking-policy` }) },
    {
      operation: "setBookingPolicy",
      expect: [401, 403, 403, 200, 403, 200],
      request: async () => ({ method: "PUT", path: `/api/v1/doctors/${doctorId}/booking-policy`, json: { cancellationWindowHours: 24 } }),
    },
    {
      operation: "listPatientBookings",
      expect: [401, 200, 403, 403, 403, 200],
      request: async () => ({ method: "GET", path: `/api/v1/patients/${accountIds.patient}/bookings` }),
    },
    {
      operation: "listSlotBookings",
      expect: [401, 403, 403, 200, 403, 200],
      request: async () => ({ method: "GET", path: `/api/v1/slots/${await slotOf(doctorId)}/bookings` }),
    },
    { operation: "listDoctorBookings", expect: [401, 403, 403, 200, 403, 200], request: async () => ({ method: "GET", path: `/api/v1/doctors/${doctorId}/bookings` }) },
    { operation: "getAvailability", expect: [200, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: `/api/v1/availability?slotIds=${await slotOf(doctorId)}` }) },
    {
      operation: "streamAvailability",
      expect: [200, 200, 200, 200, 200, 200],
      request: async () => ({ method: "GET", path: `/api/v1/availability/stream?slotIds=${await slotOf(doctorId)}`, stream: true }),
    },
    {
      operation: "listBookingNotifications",
      expect: [401, 403, 403, 403, 403, 200],
      request: async () => ({ method: "GET", path: `/api/v1/bookings/${await bookingOfPatient()}/notifications` }),
    },
    { operation: "listDeadLetters", expect: [401, 403, 403, 403, 403, 200], request: async () => ({ method: "GET", path: "/api/v1/admin/dead-letters" }) },
    {
      operation: "replayDeadLetter",
      expect: [401, 403, 403, 403, 403, 404],
      request: async () => ({ method: "POST", path: `/api/v1/admin/dead-letters/${randomUUID()}/replay` }),
    },
    {
      operation: "registerPatient",
      expect: [D, D, D, D, D, D],
      request: async () => ({ method: "POST", path: "/api/v1/auth/register", json: { email: `reg.${randomUUID()}@example.org`, password: PASSWORD } }),
    },
    {
      operation: "createToken",
      expect: [200, 200, 200, 200, 200, 200],
      request: async () => ({ method: "POST", path: "/api/v1/auth/token", json: { email: `other.${suffix}@example.org`, password: PASSWORD } }),
    },
    {
      operation: "refreshToken",
      expect: [200, 200, 200, 200, 200, 200],
      request: async () => ({ method: "POST", path: "/api/v1/auth/refresh", json: { refreshToken: (await signIn(`other.${suffix}@example.org`)).refreshToken } }),
    },
    {
      operation: "logout",
      expect: [204, 204, 204, 204, 204, 204],
      request: async () => ({ method: "POST", path: "/api/v1/auth/logout", json: { refreshToken: (await signIn(`other.${suffix}@example.org`)).refreshToken } }),
    },
    {
      operation: "createAccount",
      expect: [401, 403, 403, 403, 403, D],
      request: async () => ({
        method: "POST",
        path: "/api/v1/accounts",
        json: { email: `newdoc.${randomUUID()}@example.org`, password: PASSWORD, role: "doctor", doctorId: otherDoctorId },
      }),
    },
    { operation: "getOwnAccount", expect: [401, 200, 200, 200, 200, 200], request: async () => ({ method: "GET", path: "/api/v1/accounts/me" }) },
    { operation: "listAuditEvents", expect: [401, 403, 403, 403, 403, 200], request: async () => ({ method: "GET", path: "/api/v1/admin/audit-events" }) },
  ];

  const send = (http: Http, req: Request, headers?: Record<string, string>): Promise<Answer> =>
    http.request(req.method, req.path, { ...(req.json !== undefined ? { json: req.json } : {}), ...(headers ? { headers } : {}), ...(req.stream ? { stream: true } : {}) });

  it("covers every operation of the OpenAPI document", async () => {
    const doc = (await admin.get("/openapi.json")).body;
    const documented = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((item) => Object.values(item).map((op) => op.operationId))
      .filter((id) => id !== "getJwks"); // public keys: no access rule, no rate limit
    expect(rows().map((r) => r.operation).sort()).toEqual(documented.sort());
  });

  it("answers each caller of each route with the status in the table", async () => {
    const mismatches: string[] = [];
    for (const row of rows()) {
      for (const [i, caller] of CALLERS.entries()) {
        const req = await row.request();
        const answer = await send(as(caller), req);
        const expected = row.expect[i];
        if (answer.status !== expected) {
          mismatches.push(`${row.operation} as ${caller}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`);
        }
        if (answer.status === 401) expect(answer.body.error.code).toBe("AUTHENTICATION_REQUIRED");
        if (answer.status === 403) expect(answer.body.error.code).toBe("FORBIDDEN");
      }
    }
    expect(mismatches).toEqual([]);
  });

  describe("token faults", () => {
    const faults: Record<string, () => Promise<string>> = {};

    beforeAll(async () => {
      const { kid, key } = await stack.edge.auth.keys.signingKey();
      const admin = { accountId: accountIds.admin, role: "admin" as const };
      // Well-formed admin tokens, each wrong in one way only.
      const sign = (options: Partial<SigningOptions> = {}) =>
        signAccessToken(admin, { key, kid, issuer: "clinic-edge", audience: "clinic-api", ttlSeconds: 3600, ...options });
      const foreign = await generateKeyPair("ES256");
      const now = Math.floor(Date.now() / 1000);

      faults["expired"] = () => sign({ issuedAt: now - 7200, ttlSeconds: 7140 });
      faults["bad signature"] = async () => {
        const token = await sign();
        const [h, p] = token.split(".");
        // The same header and claims, signed by a key that is not the edge's.
        const forged = await sign({ key: foreign.privateKey });
        return `${h}.${p}.${forged.split(".")[2]}`;
      };
      faults["alg: none"] = async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        return `${enc({ alg: "none", typ: "JWT", kid })}.${enc({ iss: "clinic-edge", aud: "clinic-api", sub: accountIds.admin, role: "admin", iat: now, exp: now + 3600, jti: randomUUID() })}.`;
      };
      faults["unknown kid"] = () => sign({ key: foreign.privateKey, kid: randomUUID() });
      faults["wrong audience"] = () => sign({ audience: "another-api" });
      faults["revoked"] = async () => {
        const pair = await signIn(`admin.${suffix}@example.org`);
        expect((await new Http(stack.baseUrl).post("/api/v1/auth/logout", { refreshToken: pair.refreshToken })).status).toBe(204);
        return pair.accessToken;
      };
      // A sanity check of the forgery kit: a well-formed admin token signed with the edge's key works.
      const good = await sign();
      expect((await send(as("anonymous"), { method: "GET", path: "/api/v1/bookings" }, { authorization: `Bearer ${good}` })).status).toBe(200);
    });

    it("answers 401 to every route for every kind of bad token, and lets none through", async () => {
      const mismatches: string[] = [];
      // Built once: refused requests consume nothing, so the same ones serve every fault.
      const requests: [string, Request][] = [];
      for (const row of rows()) requests.push([row.operation, await row.request()]);
      for (const [fault, make] of Object.entries(faults)) {
        const token = await make();
        for (const [operation, request] of requests) {
          const answer = await send(as("anonymous"), request, { authorization: `Bearer ${token}` });
          const code = answer.body?.error?.code as string | undefined;
          const expectedCode = fault === "expired" ? "TOKEN_EXPIRED" : fault === "revoked" ? "TOKEN_REVOKED" : "INVALID_TOKEN";
          if (answer.status !== 401 || code !== expectedCode) {
            mismatches.push(`${operation} with ${fault} token: ${answer.status} ${code}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });

    it("never mistakes an HS256 token keyed with the public key for a valid one", async () => {
      // The classic algorithm-confusion attack: sign with HMAC using the published public key.
      const { kid } = await stack.edge.auth.keys.signingKey();
      const jwks = (await admin.get("/.well-known/jwks.json")).body;
      const publicJwk = JSON.stringify(jwks.keys.find((k: { kid: string }) => k.kid === kid));
      const token = await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256", kid })
        .setIssuer("clinic-edge")
        .setAudience("clinic-api")
        .setSubject(accountIds.admin)
        .setIssuedAt()
        .setExpirationTime("1h")
        .setJti(randomUUID())
        .sign(new TextEncoder().encode(publicJwk));
      const answer = await send(as("anonymous"), { method: "GET", path: "/api/v1/bookings" }, { authorization: `Bearer ${token}` });
      expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 401, code: "INVALID_TOKEN" });
    });
  });

  describe("calls that bypass the edge", () => {
    let booking: bookingV1.BookingServiceClient;
    beforeAll(() => {
      booking = createGrpcClient(bookingV1.BookingServiceClient, {
        address: `127.0.0.1:${stack.booking.grpcPort}`,
        serviceName: "clinic.booking.v1.BookingService",
        deadlineMs: 10_000,
      });
    });
    afterAll(() => booking.close());

    const withToken = (token?: string): Metadata => {
      const md = new Metadata();
      if (token !== undefined) md.set(AUTHORIZATION_KEY, `Bearer ${token}`);
      return md;
    };
    const statusOf = async (call: Promise<unknown>): Promise<string> => {
      try {
        await call;
        return "OK";
      } catch (err) {
        if (isServiceError(err)) return status[err.code] ?? String(err.code);
        throw err;
      }
    };

    it("refuses to book as someone else, or with no token, or with a token the edge did not sign", async () => {
      const slotId = await slotOf(doctorId);
      const request = (patientId: string) =>
        bookingV1.CreateBookingRequest.fromPartial({ slotId, patientId, patientName: "Mallory", patientContact: "m@example.org" });
      const create = (patientId: string, md: Metadata) => unary(booking.createBooking.bind(booking), request(patientId), md);

      expect(await statusOf(create(accountIds.patient, withToken(tokens.otherPatient)))).toBe("PERMISSION_DENIED");
      expect(await statusOf(create(accountIds.patient, withToken()))).toBe("UNAUTHENTICATED");
      // An admin token with the edge's kid, signed by a key the edge never had.
      const { kid } = await stack.edge.auth.keys.signingKey();
      const forged = await signAccessToken(
        { accountId: randomUUID(), role: "admin" },
        { key: (await generateKeyPair("ES256")).privateKey, kid, issuer: "clinic-edge", audience: "clinic-api", ttlSeconds: 3600 },
      );
      expect(await statusOf(create(accountIds.patient, withToken(forged)))).toBe("UNAUTHENTICATED");
      // The real patient, with their own token, can.
      expect(await statusOf(create(accountIds.patient, withToken(tokens.patient)))).toBe("OK");
    });

    it("refuses to read or cancel another patient's booking", async () => {
      const id = await bookingOfPatient();
      expect(await statusOf(unary(booking.getBooking.bind(booking), { id }, withToken(tokens.otherPatient)))).toBe("PERMISSION_DENIED");
      expect(await statusOf(unary(booking.cancelBooking.bind(booking), { id }, withToken(tokens.otherPatient)))).toBe("PERMISSION_DENIED");
      expect(await statusOf(unary(booking.getBooking.bind(booking), { id }, withToken(tokens.patient)))).toBe("OK");
    });
  });

  it("keeps an audit record of what admins changed", async () => {
    const fresh = (await admin.post("/api/v1/doctors", { name: "Dr. Audited", specialization: "neurology" })).body.id;
    const realAdmin = as("admin");
    expect((await realAdmin.delete(`/api/v1/doctors/${fresh}`)).status).toBe(204);
    const events = (await realAdmin.get("/api/v1/admin/audit-events?pageSize=50")).body.events as { action: string; target: Record<string, string>; actorAccountId: string; statusCode: number }[];
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "deleteDoctor", target: { doctorId: fresh }, actorAccountId: accountIds.admin, statusCode: 204 }),
      ]),
    );
    // Reads are not audited.
    expect(events.some((e) => e.action.startsWith("list") || e.action.startsWith("get"))).toBe(false);
  });

  it("answers an admin whose audit record cannot be written as if it could, and counts the failure", async () => {
    const fresh = (await admin.post("/api/v1/doctors", { name: "Dr. Unaudited", specialization: "neurology" })).body.id;
    const failures = () => metricValue(stack.metricsPorts.edge!, "audit_write_failures_total");
    const before = await failures();
    // Every insert into the audit log fails from here on, until the constraint is dropped.
    await stack.edgeDb.knex.raw("ALTER TABLE audit_events ADD CONSTRAINT audit_refused CHECK (false) NOT VALID");
    try {
      expect((await as("admin").delete(`/api/v1/doctors/${fresh}`)).status).toBe(204);
    } finally {
      await stack.edgeDb.knex.raw("ALTER TABLE audit_events DROP CONSTRAINT audit_refused");
    }
    expect(await failures()).toBe(before + 1);
  });
});
