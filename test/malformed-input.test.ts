import { randomUUID } from "node:crypto";
import { createDatabase, type Knex } from "@clinic/platform/db";
import { addMinutes, databaseSettings, hoursAhead, type Stack, startStack } from "@clinic/test-stack";
import fc from "fast-check";

/**
 * Hostile input, generated: at least 10,000 requests across every API route, each broken in at
 * least one way (not JSON, wrong types, missing or unknown fields, strings far over their
 * limits, invalid UUIDs and dates, injection strings, unicode, bad tokens). Every answer must be
 * a 4xx in the one error shape, the platform must stay up, and no database may change at all.
 */

const RUNS = 10_000;
const CONCURRENCY = 8;

const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE bookings; --",
  "\"; DELETE FROM accounts; --",
  "1; SELECT pg_sleep(10)",
  "<script>alert(1)</script>",
  "${jndi:ldap://x/a}",
  "{{7*7}}",
  "../../../../etc/passwd",
  "%00",
  "\u0000",
  "\ud800",
  "𝕳𝖊𝖑𝖑𝖔 👩‍⚕️",
  "Ω≈ç√∫˜µ≤≥÷",
  "‮evil",
  "null",
  "NaN",
  "-1",
  "1e309",
  "0x7fffffff",
];

type Method = "GET" | "POST" | "PATCH" | "DELETE";

interface RouteSpec {
  method: Method;
  /** Path with `{param}` placeholders. */
  path: string;
  /** A valid body for the route, from which broken ones are derived; undefined when it takes none. */
  body?: () => Record<string, unknown>;
  /** Query parameters a broken request may misuse. */
  query?: string[];
}

interface Ids {
  doctorId: string;
  slotId: string;
  bookingId: string;
  patientId: string;
}

const future = hoursAhead(24 * 400);
const ROUTES: RouteSpec[] = [
  { method: "POST", path: "/api/v1/doctors", body: () => ({ name: "Dr. Valid", specialization: "cardiology" }) },
  { method: "GET", path: "/api/v1/doctors", query: ["specialization", "q", "pageSize", "pageToken"] },
  { method: "GET", path: "/api/v1/doctors/{doctorId}" },
  { method: "PATCH", path: "/api/v1/doctors/{doctorId}", body: () => ({ name: "Dr. Renamed" }) },
  { method: "DELETE", path: "/api/v1/doctors/{doctorId}" },
  {
    method: "POST",
    path: "/api/v1/doctors/{doctorId}/slots",
    body: () => ({ startTime: future.toISOString(), endTime: addMinutes(future, 30).toISOString(), capacity: 3 }),
  },
  {
    method: "POST",
    path: "/api/v1/doctors/{doctorId}/slots/batch",
    body: () => ({
      timeZone: "Europe/Berlin",
      startDate: "2031-03-03",
      endDate: "2031-03-04",
      weekdays: ["monday"],
      dayStart: "09:00",
      dayEnd: "12:00",
      slotMinutes: 30,
      capacity: 2,
    }),
  },
  { method: "GET", path: "/api/v1/doctors/{doctorId}/slots", query: ["startFrom", "startTo", "pageSize", "pageToken"] },
  { method: "GET", path: "/api/v1/slots", query: ["ids"] },
  { method: "GET", path: "/api/v1/slots/{slotId}" },
  { method: "PATCH", path: "/api/v1/slots/{slotId}", body: () => ({ capacity: 4 }) },
  { method: "DELETE", path: "/api/v1/slots/{slotId}" },
  {
    method: "POST",
    path: "/api/v1/bookings",
    body: () => ({ slotId: randomUUID(), patientName: "Pat", patientContact: "pat@example.org", patientPhone: "+4915123456789" }),
  },
  { method: "GET", path: "/api/v1/bookings", query: ["status", "pageSize", "pageToken"] },
  { method: "GET", path: "/api/v1/bookings/{bookingId}" },
  { method: "POST", path: "/api/v1/bookings/{bookingId}/confirm" },
  { method: "POST", path: "/api/v1/bookings/{bookingId}/cancel" },
  { method: "GET", path: "/api/v1/patients/{patientId}/bookings", query: ["status", "pageSize", "pageToken"] },
  { method: "GET", path: "/api/v1/slots/{slotId}/bookings", query: ["status", "pageSize", "pageToken"] },
  { method: "GET", path: "/api/v1/doctors/{doctorId}/bookings", query: ["status", "pageSize", "pageToken"] },
  { method: "GET", path: "/api/v1/availability", query: ["slotIds"] },
  // Every mutation breaks the query (slotIds is required), so no stream is ever opened here.
  { method: "GET", path: "/api/v1/availability/stream", query: ["slotIds"] },
  { method: "GET", path: "/api/v1/bookings/{bookingId}/notifications" },
  { method: "GET", path: "/api/v1/admin/dead-letters", query: ["pageSize", "pageToken"] },
  { method: "POST", path: "/api/v1/admin/dead-letters/{deadLetterId}/replay" },
  { method: "POST", path: "/api/v1/auth/register", body: () => ({ email: `new.${randomUUID()}@example.org`, password: "long enough password" }) },
  { method: "POST", path: "/api/v1/auth/token", body: () => ({ email: "nobody@example.org", password: "whatever it is" }) },
  { method: "POST", path: "/api/v1/auth/refresh", body: () => ({ refreshToken: "opaque-token" }) },
  { method: "POST", path: "/api/v1/auth/logout", body: () => ({ refreshToken: "opaque-token" }) },
  {
    method: "POST",
    path: "/api/v1/accounts",
    body: () => ({ email: `doc.${randomUUID()}@example.org`, password: "long enough password", role: "doctor", doctorId: randomUUID() }),
  },
  { method: "GET", path: "/api/v1/accounts/me" },
  { method: "GET", path: "/api/v1/admin/audit-events", query: ["pageSize", "pageToken"] },
];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any string: ASCII, full unicode (lone surrogates too), injections, huge. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(...INJECTIONS),
  fc.integer({ min: 300, max: 70_000 }).map((n) => "x".repeat(n)),
);
/** A value of a JSON type chosen at random. */
const wrongTyped = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }), nastyString);
/** A string that is certainly not a UUID (so it can break any id). */
const notUuid = nastyString.filter((s) => !UUID_RE.test(s));

type Mutation =
  | { kind: "notJson"; text: string }
  | { kind: "wrongType"; field: number; value: unknown }
  | { kind: "unknownField"; name: string; value: unknown }
  | { kind: "dropField"; field: number }
  | { kind: "hugeField"; field: number; size: number }
  | { kind: "badParam"; value: string }
  | { kind: "badQuery"; param: number; value: string }
  | { kind: "unknownQuery"; name: string }
  | { kind: "badToken"; value: string }
  | { kind: "bodyOnBodyless"; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("notJson" as const), text: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("{", "{\"a\":", "[1,2", "'single'", "{\"name\": undefined}", "\u0000")) }),
  fc.record({ kind: fc.constant("wrongType" as const), field: fc.nat(), value: wrongTyped }),
  fc.record({ kind: fc.constant("unknownField" as const), name: fc.constantFrom("patientId", "role", "isAdmin", "__proto__x", "constructor", "id", "$where"), value: wrongTyped }),
  fc.record({ kind: fc.constant("dropField" as const), field: fc.nat() }),
  fc.record({ kind: fc.constant("hugeField" as const), field: fc.nat(), size: fc.integer({ min: 1_000, max: 80_000 }) }),
  fc.record({ kind: fc.constant("badParam" as const), value: notUuid }),
  fc.record({ kind: fc.constant("badQuery" as const), param: fc.nat(), value: fc.oneof(notUuid, fc.constantFrom("0", "-5", "101", "1.5", "abc", "2030-13-45T25:61:00Z", "yesterday")) }),
  fc.record({ kind: fc.constant("unknownQuery" as const), name: fc.constantFrom("sort", "admin", "limit", "offset", "where") }),
  fc.record({ kind: fc.constant("badToken" as const), value: fc.oneof(nastyString.map((s) => `Bearer ${s}`), nastyString, fc.constantFrom("Bearer", "Basic YTpi", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.")) }),
  fc.record({ kind: fc.constant("bodyOnBodyless" as const), text: fc.constantFrom("{\"reason\":\"x\"}", "[1]", "\"text\"", "not json") }),
);

interface Built {
  method: Method;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * One request for `route`, broken by `m`. When `m` cannot break this route (a body mutation on a
 * route without a body, say), the request is broken another way that certainly applies to it.
 */
function build(route: RouteSpec, m: Mutation, ids: Ids, token: string): Built {
  const params: Record<string, string> = { ...ids, deadLetterId: randomUUID() };
  let pathValue = (name: string) => percentEncode(params[name] ?? randomUUID());
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let body: string | undefined;
  const query = new URLSearchParams();
  const hasParam = route.path.includes("{");

  const valid = route.body?.();
  const fields = valid ? Object.keys(valid) : [];
  const pick = (i: number) => fields[i % fields.length]!;
  const json = (value: unknown) => {
    headers["content-type"] = "application/json";
    return JSON.stringify(value);
  };
  const breakPath = (value = "not-a-uuid") => {
    pathValue = () => percentEncode(value);
  };
  /** The fallback: whatever this route certainly refuses. */
  const breakSomehow = (value = "x") => {
    if (hasParam) breakPath(UUID_RE.test(value) || value === "" ? "not-a-uuid" : value);
    else if (valid) body = json({ ...valid, unexpectedField: value });
    else if (route.query) query.set("unexpectedParameter", value || "x");
    else headers["authorization"] = "Bearer not.a.token";
  };

  switch (m.kind) {
    case "notJson":
      if (valid) {
        headers["content-type"] = "application/json";
        // Certainly not JSON: a string that parses is wrapped into one that does not.
        body = isJson(m.text) ? `{${m.text}` : m.text;
      } else breakSomehow(m.text);
      break;
    case "wrongType":
    case "dropField":
    case "hugeField": {
      if (!valid) {
        breakSomehow();
        break;
      }
      const field = pick(m.field);
      const copy: Record<string, unknown> = { ...valid };
      if (m.kind === "dropField") {
        delete copy[field];
        // patientPhone is optional: dropping it is fine, so break a required field as well.
        if (field === "patientPhone") copy["slotId"] = 42;
      } else if (m.kind === "wrongType") {
        // A value of the valid one's type could be valid: force another type.
        const original = valid[field];
        copy[field] = Array.isArray(original) ? { not: "an array" } : typeof m.value === typeof original ? [m.value] : m.value;
      } else {
        copy[field] = typeof valid[field] === "string" ? "x".repeat(m.size) : "x";
      }
      body = json(copy);
      break;
    }
    case "unknownField":
      if (valid) body = json({ ...valid, [m.name]: m.value });
      else breakSomehow(m.name);
      break;
    case "badParam":
      if (hasParam) breakPath(m.value);
      else breakSomehow(m.value);
      break;
    case "badQuery":
      if (route.query) {
        const name = route.query[m.param % route.query.length]!;
        // Free-text filters and page tokens accept anything short: make them too long.
        const long = name === "q" || name === "specialization" || name === "pageToken";
        query.set(name, long ? "y".repeat(3_000) + m.value : m.value || "-1");
        if (name === "pageSize" && /^(?:[1-9]|[1-9][0-9]|100)$/.test(m.value)) query.set(name, "0");
      } else breakSomehow(m.value);
      break;
    case "unknownQuery":
      if (route.query) query.set(m.name, "1");
      else breakSomehow(m.name);
      break;
    case "badToken":
      // Header values are bytes: unicode goes out as its raw UTF-8 bytes, as an attacker's would.
      headers["authorization"] = Buffer.from(m.value, "utf8").toString("latin1");
      // Broken twice: should a client library drop the bad header, the request is still refused.
      if (valid) body = json({ ...valid, unexpectedField: true });
      else breakSomehow();
      break;
    case "bodyOnBodyless":
      if (!valid && route.method === "POST") {
        headers["content-type"] = "application/json";
        body = m.text;
      } else breakSomehow(m.text);
      break;
  }
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => pathValue(name));
  const qs = query.toString();
  return { method: route.method, url: qs ? `${path}?${qs}` : path, headers, ...(body !== undefined ? { body } : {}) };
}

/** Percent-encodes the UTF-8 bytes of any string, lone surrogates included (as U+FFFD). */
function percentEncode(value: string): string {
  return [...Buffer.from(value, "utf8")]
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Every table's row count and a digest of its contents, per database. */
async function snapshot(dbs: Record<string, Knex>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, db] of Object.entries(dbs)) {
    const tables = (await db.raw(
      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    )) as { rows: { relname: string }[] };
    for (const { relname } of tables.rows) {
      const { rows } = (await db.raw(`SELECT count(*)::text AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS digest FROM "${relname}" t`)) as {
        rows: { n: string; digest: string }[];
      };
      out[`${name}.${relname}`] = `${rows[0]!.n}:${rows[0]!.digest}`;
    }
  }
  return out;
}

describe("malformed input across all routes", () => {
  jest.setTimeout(900_000);
  let stack: Stack;
  let ids: Ids;
  const dbs: Record<string, Knex> = {};

  beforeAll(async () => {
    stack = await startStack({ name: "e2e_fuzz" });
    const http = stack.http();
    const doctor = (await http.post("/api/v1/doctors", { name: "Dr. Fuzz", specialization: "cardiology" })).body;
    const start = hoursAhead(72);
    const slot = (await http.post(`/api/v1/doctors/${doctor.id}/slots`, { startTime: start.toISOString(), endTime: addMinutes(start, 30).toISOString(), capacity: 5 })).body;
    const patientId = randomUUID();
    // Confirmed, so no hold lapses (and no sweeper writes) while the test runs.
    const booking = (await http.asPatient(patientId).post("/api/v1/bookings", { slotId: slot.id, patientName: "Pat", patientContact: "pat@example.org", confirm: true })).body;
    expect(booking.status).toBe("confirmed");
    ids = { doctorId: doctor.id, slotId: slot.id, bookingId: booking.id, patientId };

    const names = (await stack.edge.auth.db.raw("SELECT datname FROM pg_database WHERE datname LIKE ?", [`t_e2e_fuzz_%`])) as { rows: { datname: string }[] };
    for (const { datname } of names.rows) dbs[datname] = createDatabase({ ...databaseSettings(datname), poolMax: 2 });
    expect(Object.keys(dbs).length).toBeGreaterThanOrEqual(7); // doctor, slot, four shards, edge
  });
  afterAll(async () => {
    for (const db of Object.values(dbs)) await db.destroy();
    await stack?.stop();
  });

  it(`answers ${RUNS} broken requests with 4xx in the error shape and changes no database`, async () => {
    // The seed's own effects (outbox rows published, caches filled) settle first.
    let before = await snapshot(dbs);
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const again = await snapshot(dbs);
      if (JSON.stringify(again) === JSON.stringify(before)) break;
      before = again;
    }
    const adminToken = await stack.signer.token({ role: "admin" });
    const patientToken = await stack.signer.token({ role: "patient", accountId: ids.patientId });

    const samples = fc.sample(
      fc.record({ route: fc.constantFrom(...ROUTES), m: mutation, asPatient: fc.boolean() }),
      { numRuns: RUNS, seed: 20261130 },
    );
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const { route, m, asPatient } = samples[next++]!;
        const req = build(route, m, ids, asPatient ? patientToken : adminToken);
        let res: Response;
        try {
          res = await fetch(stack.baseUrl + req.url, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
        } catch (err) {
          // fetch refuses to send some header values itself (control characters): not the server's doing.
          // (The error comes from another realm than jest's, so no instanceof here.)
          if (/header|ByteString/i.test(String((err as Error).message) + String((err as { cause?: unknown }).cause))) continue;
          throw err;
        }
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const describe = () => `${req.method} ${req.url.slice(0, 120)} (${m.kind}) -> ${res.status} ${text.slice(0, 200)}`;
        if (res.status < 400 || res.status >= 500) {
          failures.push(describe());
          continue;
        }
        let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (typeof parsed?.error?.code !== "string" || !Array.isArray(parsed.error.details)) failures.push(`bad error shape: ${describe()}`);
        if (/ at .*\.(js|ts):\d+|SELECT |INSERT |syntax error|ECONNREFUSED|stack/i.test(text)) failures.push(`internals leaked: ${describe()}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(failures.slice(0, 20)).toEqual([]);
    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBeGreaterThanOrEqual(RUNS * 0.95);
    // Still up and still right after all of it.
    expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
    expect((await stack.http().get(`/api/v1/bookings/${ids.bookingId}`)).body.status).toBe("confirmed");
    expect(await snapshot(dbs)).toEqual(before);
    // The breakage reached every layer: parsing, size limits, authentication, validation.
    for (const status of [400, 401, 413]) expect({ status, seen: (statuses.get(status) ?? 0) > 0 }).toEqual({ status, seen: true });
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 2);
  });
});

