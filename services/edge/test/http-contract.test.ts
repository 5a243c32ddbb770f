import { parseConfig } from "@clinic/platform/config";
import { createScratchDatabase, type ScratchDatabase, startTestEdge, uniqueKeyPrefix } from "@clinic/test-stack";
import type { RunningEdge } from "../src/app";
import { configSchema } from "../src/config";

/**
 * The edge's HTTP contract on its own: validation, the one error shape, framework errors, the
 * OpenAPI document, probes and metrics. The gRPC backends point at ports nobody listens on, so
 * everything here is decided by the edge itself, and backend failures are real connection
 * failures (end-to-end flows with the real services are in the top-level test/ folder).
 */

const UUID = "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10";

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

// One edge database for the file (accounts, keys); every edge started here shares it.
let database: ScratchDatabase | undefined;
afterAll(async () => {
  await database?.drop();
});

async function startIsolatedEdge(extra: Record<string, string> = {}): Promise<RunningEdge> {
  database ??= await createScratchDatabase("edge_contract");
  return startTestEdge(database.name, {
    RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_contract"),
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "100000",
    RATE_LIMIT_ACCOUNT_PER_MINUTE: "100000",
    GRPC_DEADLINE_MS: "2000",
    READINESS_TIMEOUT_MS: "500",
    ...extra,
  });
}

/** Calls the edge as an admin unless the headers carry their own `authorization` (or `anonymous`). */
function client(edge: RunningEdge, options: { anonymous?: boolean } = {}) {
  const base = `http://127.0.0.1:${edge.port}`;
  const token = edge.auth.issueAccessToken({ id: "6d1c1a8e-5f0b-4c36-9d0c-2f4b0f7b7c11", role: "admin", doctor_id: null });
  return async (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const auth: Record<string, string> = options.anonymous || headers["authorization"] !== undefined ? {} : { authorization: `Bearer ${await token}` };
    const res = await fetch(base + path, { method, headers: { ...auth, ...headers }, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };
}

const JSON_TYPE = { "content-type": "application/json" };

/** Every error answer has exactly this shape, and nothing internal in it. */
function expectErrorShape(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(answer.body)).toEqual(["error"]);
  expect(Object.keys(answer.body.error).sort()).toEqual(["code", "details", "message"]);
  expect(typeof answer.body.error.message).toBe("string");
  expect(Array.isArray(answer.body.error.details)).toBe(true);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.text).not.toMatch(/ at .*\.(js|ts):\d+|ECONNREFUSED|127\.0\.0\.1|FST_ERR|grpc/i);
}

describe("edge HTTP contract (backends unreachable)", () => {
  let edge: RunningEdge;
  let call: ReturnType<typeof client>;

  beforeAll(async () => {
    edge = await startIsolatedEdge({
      HTTP_BODY_LIMIT_BYTES: "2048",
      CORS_ALLOWED_ORIGINS: "https://app.example.org",
      HSTS_MAX_AGE_SECONDS: "31536000",
    });
    call = client(edge);
  });
  afterAll(async () => {
    await edge?.lifecycle.shutdown("test finished");
  });

  describe("validation", () => {
    it("lists every bad and unknown body field in one VALIDATION_FAILED answer", async () => {
      const res = await call("POST", "/api/v1/doctors", JSON.stringify({ name: 5, nickname: "x" }), JSON_TYPE);
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual(
        expect.arrayContaining([
          { field: "name", message: "must be string" },
          { field: "specialization", message: "is required" },
          { field: "nickname", message: "is not a known field" },
        ]),
      );
      expect(res.body.error.details).toHaveLength(3);
    });

    it("does not coerce body types: a quoted number is refused, not taken", async () => {
      const res = await call(
        "POST",
        `/api/v1/doctors/${UUID}/slots`,
        JSON.stringify({ startTime: "2030-01-01T09:00:00Z", endTime: "2030-01-01T09:30:00Z", capacity: "5" }),
        JSON_TYPE,
      );
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual([{ field: "capacity", message: "must be integer" }]);
    });

    it("names fields inside arrays by their path", async () => {
      const res = await call(
        "POST",
        `/api/v1/doctors/${UUID}/slots/batch`,
        JSON.stringify({
          timeZone: "Europe/Berlin",
          startDate: "2030-01-07",
          endDate: "2030-01-31",
          weekdays: ["monday", "funday"],
          dayStart: "09:00",
          dayEnd: "25:00",
          slotMinutes: 30,
          capacity: 0,
        }),
        JSON_TYPE,
      );
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual(
        expect.arrayContaining([
          { field: "weekdays[1]", message: expect.stringContaining("must be one of: monday") },
          { field: "dayEnd", message: "has an invalid format" },
          { field: "capacity", message: expect.stringMatching(/>= 1/) },
        ]),
      );
    });

    it("checks formats: uuid, date-time, e-mail or E.164 contact", async () => {
      const res = await call(
        "POST",
        "/api/v1/bookings",
        JSON.stringify({ slotId: "nope", patientName: "Pat", patientContact: "0151 234" }),
        JSON_TYPE,
      );
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual([
        { field: "slotId", message: "must be a UUID" },
        { field: "patientContact", message: expect.stringContaining("E.164") },
      ]);

      const slot = await call(
        "POST",
        `/api/v1/doctors/${UUID}/slots`,
        JSON.stringify({ startTime: "2030-01-01 09:00", endTime: "2030-01-01T09:30:00", capacity: 1 }),
        JSON_TYPE,
      );
      expect(slot.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["endTime", "startTime"]);
    });

    it("validates path parameters", async () => {
      const res = await call("GET", "/api/v1/doctors/not-a-uuid");
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual([{ field: "doctorId", message: "must be a UUID" }]);
    });

    it("types query parameters strictly and refuses unknown ones", async () => {
      const res = await call("GET", "/api/v1/doctors?pageSize=1.5&page_size=3");
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual(
        expect.arrayContaining([
          { field: "pageSize", message: "must be integer" },
          { field: "page_size", message: "is not a known field" },
        ]),
      );
      const tooBig = await call("GET", "/api/v1/doctors?pageSize=101");
      expect(tooBig.body.error.details).toEqual([{ field: "pageSize", message: "must be <= 100" }]);
    });

    it("accepts repeated and comma-separated list parameters, and checks each item", async () => {
      const res = await call("GET", `/api/v1/slots?ids=${UUID},bad&ids=worse`);
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual([
        { field: "ids[1]", message: "must be a UUID" },
        { field: "ids[2]", message: "must be a UUID" },
      ]);
      const statuses = await call("GET", "/api/v1/bookings?status=pending,done");
      expect(statuses.body.error.details).toEqual([
        { field: "status[1]", message: "must be one of: pending, confirmed, cancelled, expired" },
      ]);
      const missing = await call("GET", "/api/v1/availability");
      expect(missing.body.error.details).toEqual([{ field: "slotIds", message: "is required" }]);
    });

    it("validates the Idempotency-Key header", async () => {
      const body = JSON.stringify({ slotId: UUID, patientName: "Pat", patientContact: "pat@example.org" });
      for (const key of ["x".repeat(201), "two words"]) {
        const res = await call("POST", "/api/v1/bookings", body, { ...JSON_TYPE, "idempotency-key": key });
        expectErrorShape(res, 400, "VALIDATION_FAILED");
        expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(["idempotency-key"]);
      }
    });

    it("needs at least one field in a PATCH", async () => {
      const res = await call("PATCH", `/api/v1/doctors/${UUID}`, "{}", JSON_TYPE);
      expectErrorShape(res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details).toEqual([{ field: "body", message: "must set at least one field" }]);
    });

    it("refuses a body on confirm and cancel", async () => {
      const res = await call("POST", `/api/v1/bookings/${UUID}/confirm`, JSON.stringify({ reason: "x" }), JSON_TYPE);
      expectErrorShape(res, 400, "VALIDATION_FAILED");
    });
  });

  describe("security", () => {
    it("refuses a protected route without a token, 401 with WWW-Authenticate, before reading the body", async () => {
      const anonymous = client(edge, { anonymous: true });
      const res = await anonymous("POST", "/api/v1/doctors", "{not json", JSON_TYPE);
      expectErrorShape(res, 401, "AUTHENTICATION_REQUIRED");
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="clinic"');
    });

    it("refuses a malformed or foreign token with 401 INVALID_TOKEN, even on a public route", async () => {
      for (const authorization of ["Bearer not-a-jwt", "Basic YWRtaW46YWRtaW4=", "Bearer a.b.c", "Bearer "]) {
        const res = await call("GET", "/api/v1/doctors", undefined, { authorization });
        expectErrorShape(res, 401, "INVALID_TOKEN");
        expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      }
    });

    it("serves public routes to anonymous callers (here the backend is down: 503, not 401)", async () => {
      const res = await client(edge, { anonymous: true })("GET", "/api/v1/doctors");
      expectErrorShape(res, 503, "SERVICE_UNAVAILABLE");
      expect(res.headers.get("ratelimit-policy")).toBe("100000;w=60");
    });

    it("sends security headers on every answer", async () => {
      for (const path of ["/api/v1/doctors/not-a-uuid", "/healthz", "/openapi.json"]) {
        const res = await call("GET", path);
        expect(res.headers.get("x-content-type-options")).toBe("nosniff");
        expect(res.headers.get("x-frame-options")).toBe("DENY");
        expect(res.headers.get("referrer-policy")).toBe("no-referrer");
        expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
        expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      }
      expect((await call("GET", "/api/v1/doctors/not-a-uuid")).headers.get("cache-control")).toBe("no-store");
    });

    it("allows CORS from the configured origins only", async () => {
      const preflight = (origin: string) =>
        call("OPTIONS", "/api/v1/bookings", undefined, {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        });
      const allowed = await preflight("https://app.example.org");
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
      expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");
      const other = await preflight("https://evil.example.com");
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const simple = await call("GET", "/api/v1/doctors/not-a-uuid", undefined, { origin: "https://app.example.org" });
      expect(simple.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
      expect(simple.headers.get("access-control-expose-headers")).toContain("retry-after");
    });

    it("documents the bearer scheme on protected operations and 401/403/429 answers", async () => {
      const doc = (await call("GET", "/openapi.json")).body;
      expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: "http", scheme: "bearer" }));
      const create = doc.paths["/api/v1/bookings"].post;
      expect(create.security).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["401", "403", "429"]));
      expect(doc.paths["/api/v1/doctors"].get.security).toBeUndefined();
    });
  });

  describe("framework errors", () => {
    it("answers malformed JSON with 400 MALFORMED_JSON", async () => {
      expectErrorShape(await call("POST", "/api/v1/doctors", '{"name": ', JSON_TYPE), 400, "MALFORMED_JSON");
      expectErrorShape(await call("POST", "/api/v1/doctors", '{"__proto__": {"x": 1}}', JSON_TYPE), 400, "MALFORMED_JSON");
    });

    it("answers a body that is not JSON with 415", async () => {
      const res = await call("POST", "/api/v1/doctors", "name=Dr", { "content-type": "application/x-www-form-urlencoded" });
      expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
      expectErrorShape(await call("POST", "/api/v1/doctors", "hello", { "content-type": "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("answers a body over the configured limit with 413", async () => {
      const res = await call("POST", "/api/v1/doctors", JSON.stringify({ name: "x".repeat(3000), specialization: "x" }), JSON_TYPE);
      expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
    });

    it("answers an unknown route with 404 and a known path with another method with 405", async () => {
      expectErrorShape(await call("GET", "/api/v1/nothing-here"), 404, "NOT_FOUND");
      expectErrorShape(await call("GET", "/"), 404, "NOT_FOUND");
      const res = await call("PUT", `/api/v1/doctors/${UUID}`, "{}", JSON_TYPE);
      expectErrorShape(res, 405, "METHOD_NOT_ALLOWED");
      expect(res.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");
    });

    it("answers a malformed URL with 400", async () => {
      expectErrorShape(await call("GET", "/api/v1/doctors/%E0%A4%A"), 400, "BAD_URL");
    });
  });

  describe("backend failures", () => {
    it("maps an unreachable backend to 503 without leaking addresses", async () => {
      const res = await call("GET", `/api/v1/doctors/${UUID}`);
      expectErrorShape(res, 503, "SERVICE_UNAVAILABLE");
      expect(res.body.error.message).toBe("a backend service is unavailable; retry later");
    });
  });

  describe("probes, docs and metrics", () => {
    it("is alive but not ready while its backends are down", async () => {
      expect((await call("GET", "/healthz")).status).toBe(200);
      const ready = await call("GET", "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.body.backends).toEqual({ doctor: "UNAVAILABLE", slot: "UNAVAILABLE", booking: "UNAVAILABLE" });
    });

    it("tags every answer with a request id", async () => {
      const res = await call("GET", "/healthz");
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("serves interactive docs at /docs", async () => {
      const res = await call("GET", "/docs");
      expect(res.status).toBe(200);
      expect(res.text).toContain("swagger-ui");
    });

    it("counts requests by route pattern, unmatched paths under one label", async () => {
      await call("GET", `/api/v1/doctors/not-a-uuid`);
      await call("GET", "/api/v1/random-path-for-metrics");
      const res = await fetch(`http://127.0.0.1:${edge.metricsPort}/metrics`);
      const text = await res.text();
      expect(text).toMatch(/http_requests_total\{[^}]*method="GET",route="\/api\/v1\/doctors\/:doctorId",status_code="400"[^}]*\} [1-9]/);
      expect(text).toMatch(/http_requests_total\{[^}]*route="unmatched",status_code="404"[^}]*\} [1-9]/);
      expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/doctors\/:doctorId"/);
      expect(text).not.toContain("random-path-for-metrics");
    });
  });

  describe("OpenAPI document", () => {
    let doc: any;
    beforeAll(async () => {
      const res = await call("GET", "/openapi.json");
      expect(res.status).toBe(200);
      doc = res.body;
    });

    const EXPECTED_OPERATIONS = [
      "POST /api/v1/doctors createDoctor",
      "GET /api/v1/doctors listDoctors",
      "GET /api/v1/doctors/{doctorId} getDoctor",
      "GET /api/v1/doctors/{doctorId}/booking-policy getBookingPolicy",
      "PATCH /api/v1/doctors/{doctorId} updateDoctor",
      "PUT /api/v1/doctors/{doctorId}/booking-policy setBookingPolicy",
      "DELETE /api/v1/doctors/{doctorId} deleteDoctor",
      "POST /api/v1/doctors/{doctorId}/slots createSlot",
      "POST /api/v1/doctors/{doctorId}/slots/batch createSlotsFromSchedule",
      "GET /api/v1/doctors/{doctorId}/slots listDoctorSlots",
      "GET /api/v1/slots batchGetSlots",
      "GET /api/v1/slots/{slotId} getSlot",
      "PATCH /api/v1/slots/{slotId} updateSlotCapacity",
      "DELETE /api/v1/slots/{slotId} deleteSlot",
      "POST /api/v1/bookings createBooking",
      "GET /api/v1/bookings listAllBookings",
      "GET /api/v1/bookings/{bookingId} getBooking",
      "POST /api/v1/bookings/{bookingId}/confirm confirmBooking",
      "POST /api/v1/bookings/{bookingId}/reschedule rescheduleBooking",
      "POST /api/v1/bookings/{bookingId}/cancel cancelBooking",
      "GET /api/v1/patients/{patientId}/bookings listPatientBookings",
      "GET /api/v1/slots/{slotId}/bookings listSlotBookings",
      "GET /api/v1/doctors/{doctorId}/bookings listDoctorBookings",
      "GET /api/v1/availability getAvailability",
      "POST /api/v1/slots/{slotId}/waitlist joinWaitlist",
      "DELETE /api/v1/slots/{slotId}/waitlist leaveWaitlist",
      "GET /api/v1/slots/{slotId}/waitlist listSlotWaitlist",
      "GET /api/v1/patients/{patientId}/waitlist listPatientWaitlist",
      "GET /api/v1/availability/stream streamAvailability",
      "GET /api/v1/bookings/{bookingId}/notifications listBookingNotifications",
      "GET /api/v1/admin/dead-letters listDeadLetters",
      "POST /api/v1/admin/dead-letters/{deadLetterId}/replay replayDeadLetter",
      "POST /api/v1/auth/register registerPatient",
      "POST /api/v1/auth/token createToken",
      "POST /api/v1/auth/refresh refreshToken",
      "POST /api/v1/auth/logout logout",
      "POST /api/v1/accounts createAccount",
      "GET /api/v1/accounts/me getOwnAccount",
      "GET /api/v1/admin/audit-events listAuditEvents",
      "GET /.well-known/jwks.json getJwks",
    ];

    const operations = (): { method: string; path: string; op: any }[] =>
      Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([method]) => ["get", "post", "put", "patch", "delete"].includes(method))
          .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
      );

    it("is OpenAPI 3.1 with every API operation and nothing else", () => {
      expect(doc.openapi).toBe("3.1.0");
      expect(doc.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));
      const listed = operations().map(({ method, path, op }) => `${method} ${path} ${op.operationId}`);
      expect(listed.sort()).toEqual([...EXPECTED_OPERATIONS].sort());
    });

    it("matches the routes the server actually serves", () => {
      for (const line of EXPECTED_OPERATIONS) {
        const [method, path] = line.split(" ") as [string, string];
        const fastifyPath = path.replace(/\{(\w+)\}/g, ":$1");
        expect({ line, served: edge.http.hasRoute({ method: method as "GET", url: fastifyPath }) }).toEqual({ line, served: true });
      }
    });

    it("declares every path parameter, a success answer and the error shape for each operation", () => {
      for (const { path, op } of operations()) {
        const declared = (op.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name).sort();
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect({ path, declared }).toEqual({ path, declared: inPath });
        const statuses = Object.keys(op.responses);
        expect(statuses.some((s) => /^2\d\d$/.test(s))).toBe(true);
        expect(op.responses["400"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
        expect(typeof op.summary).toBe("string");
      }
    });

    it("has unique operation ids and only references that resolve", () => {
      const ids = operations().map(({ op }) => op.operationId);
      expect(new Set(ids).size).toBe(ids.length);
      const refs = new Set<string>();
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === "object") {
          for (const [key, value] of Object.entries(node)) {
            if (key === "$ref" && typeof value === "string") refs.add(value);
            else walk(value);
          }
        }
      };
      walk(doc);
      expect(refs.size).toBeGreaterThan(0);
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/components\/schemas\//);
        expect(doc.components.schemas[ref.slice("#/components/schemas/".length)]).toBeDefined();
      }
    });

    it("documents closed request bodies, formats and lower-case enums", () => {
      const create = doc.paths["/api/v1/bookings"].post;
      const schema = create.requestBody.content["application/json"].schema;
      expect(schema.additionalProperties).toBe(false);
      // The patient is the token's account, never a body field.
      expect(schema.required.sort()).toEqual(["patientContact", "patientName", "slotId"]);
      expect(schema.properties.patientId).toBeUndefined();
      expect(schema.properties.slotId.format).toBe("uuid");
      expect(create.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ in: "header", name: "idempotency-key", required: false })]),
      );
      expect(doc.components.schemas.Booking.properties.status.enum).toEqual(["pending", "confirmed", "cancelled", "expired"]);
      expect(doc.components.schemas.Booking.properties.createTime.format).toBe("date-time");
    });
  });
});

describe("edge configuration defaults", () => {
  it("uses the documented ports, backends and a 64 KiB body limit", () => {
    const config = parseConfig(configSchema, { PGUSER: "u", PGPASSWORD: "p", REDIS_URL: "redis://127.0.0.1:6379", KAFKA_BROKERS: "127.0.0.1:9092" });
    expect(config).toEqual(
      expect.objectContaining({
        HTTP_PORT: 8080,
        METRICS_PORT: 9464,
        DOCTOR_ADDR: "127.0.0.1:50051",
        SLOT_ADDR: "127.0.0.1:50052",
        BOOKING_ADDR: "127.0.0.1:50053",
        HTTP_BODY_LIMIT_BYTES: 65536,
        ACCESS_TOKEN_TTL_SECONDS: 86_400,
        REFRESH_TOKEN_TTL_SECONDS: 30 * 86_400,
        RATE_LIMIT_ANONYMOUS_PER_MINUTE: 10,
        RATE_LIMIT_ACCOUNT_PER_MINUTE: 100,
        RATE_LIMIT_FLOOD_PER_SECOND: 1000,
        BOOKING_EVENTS_TOPIC: "clinic.booking.events.v1",
        SLOT_EVENTS_TOPIC: "clinic.slot.events.v1",
        LIVE_MAX_SLOTS_PER_STREAM: 50,
        LIVE_MAX_STREAMS_PER_ADDRESS: 20,
        LIVE_MAX_STREAMS: 10_000,
        LIVE_HEARTBEAT_MS: 15_000,
      }),
    );
  });

  it("refuses a malformed backend address", () => {
    expect(() => parseConfig(configSchema, { SLOT_ADDR: "slot" })).toThrow(/SLOT_ADDR/);
  });

  it("needs its database, Redis and Kafka, and refuses CORS entries that are not origins", () => {
    expect(() => parseConfig(configSchema, {})).toThrow(/PGUSER[\s\S]*PGPASSWORD[\s\S]*REDIS_URL[\s\S]*KAFKA_BROKERS/);
    expect(() =>
      parseConfig(configSchema, {
        PGUSER: "u",
        PGPASSWORD: "p",
        REDIS_URL: "redis://r:6379",
        KAFKA_BROKERS: "k:9092",
        CORS_ALLOWED_ORIGINS: "https://app.example.org/path",
      }),
    ).toThrow(/CORS_ALLOWED_ORIGINS/);
  });
});

describe("edge start-up", () => {
  it("fails clearly when its port is taken", async () => {
    const first = await startIsolatedEdge();
    try {
      await expect(startIsolatedEdge({ HTTP_PORT: String(first.port) })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.lifecycle.shutdown("test finished");
    }
  });
});

describe("edge shutdown", () => {
  it("fails readiness first, then stops accepting, then closes", async () => {
    const edge = await startIsolatedEdge({ SHUTDOWN_GRACE_MS: "400" });
    const call = client(edge);
    // Keep-alive is off so the probe during the grace period opens a new connection, as a
    // load balancer's health checker would.
    const shutdown = edge.lifecycle.shutdown("test");
    const during = await call("GET", "/readyz", undefined, { connection: "close" });
    expect(during.status).toBe(503);
    expect(during.body).toEqual({ status: "draining" });
    // Still serving ordinary requests while load balancers catch up.
    expect((await call("GET", "/healthz", undefined, { connection: "close" })).status).toBe(200);
    expect(await shutdown).toBe(true);
    await expect(call("GET", "/healthz")).rejects.toThrow();
  });
});
