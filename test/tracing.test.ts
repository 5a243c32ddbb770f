import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { eventually } from "@clinic/test-support";
import { Http, signIn } from "./harness";

const run = promisify(execFile);
const repo = path.join(__dirname, "..");

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/**
 * One booking is one trace: the whole platform runs as separate processes (the repository's
 * stack script, with Jaeger), a booking goes in over HTTP, and Jaeger's query API must show the
 * edge, booking, slot, PostgreSQL, the Kafka publish, the notifier's consume and its send in a
 * single trace.
 */
describe("distributed tracing through Jaeger", () => {
  jest.setTimeout(600_000);
  // The test stack's own CLINIC_* settings (its ports above all) must not leak into this one.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("CLINIC_"))),
    CLINIC_STATE_DIR: mkdtempSync(path.join(tmpdir(), "clinic-traced-")),
    CLINIC_PORTS: "free",
    CLINIC_LOG_LEVEL: "warn",
  };
  const stack = (...args: string[]) => run("bash", [path.join(repo, "scripts/stack"), ...args], { env, timeout: 540_000 });
  let settings: Record<string, string>;

  beforeAll(async () => {
    await stack("up", "postgres", "redis", "kafka", "jaeger", "sinks", "doctor", "slot", "booking", "notifier", "edge");
    settings = Object.fromEntries(
      readFileSync(path.join(env.CLINIC_STATE_DIR, "stack.env"), "utf8")
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  });
  afterAll(async () => {
    await stack("reset").catch(() => undefined);
  });

  it("follows a booking from the HTTP request to the sent e-mail", async () => {
    const edgeUrl = settings["EDGE_URL"]!;
    const http = await signIn(edgeUrl, settings["ADMIN_EMAIL"]!, settings["ADMIN_PASSWORD"]!);
    const patientEmail = `trace-${randomUUID()}@example.org`;
    expect((await new Http(edgeUrl).post("/api/v1/auth/register", { email: patientEmail, password: "trace-patient-password" })).status).toBe(201);
    const patient = await signIn(edgeUrl, patientEmail, "trace-patient-password");
    const doctor = await http.post("/api/v1/doctors", { name: "Dr. Trace", specialization: "radiology" });
    expect(doctor.status).toBe(201);
    const start = new Date(Date.now() + 48 * 3_600_000);
    start.setUTCMinutes(0, 0, 0);
    const slot = await http.post(`/api/v1/doctors/${doctor.body.id}/slots`, {
      startTime: start.toISOString(),
      endTime: new Date(start.getTime() + 1_800_000).toISOString(),
      capacity: 2,
    });
    expect(slot.status).toBe(201);
    // Book and confirm in one request: the slot lookup, the seat, the events and the
    // "confirmed" e-mail all belong to this one request's trace.
    const booking = await patient.post("/api/v1/bookings", {
      slotId: slot.body.id,
      patientName: "Trace Patient",
      patientContact: "trace@example.org",
      confirm: true,
    });
    expect(booking.status).toBe(201);
    expect(booking.body.status).toBe("confirmed");

    const jaeger = settings["JAEGER_QUERY_URL"]!;
    const trace = await eventually(
      async () => {
        const res = await fetch(`${jaeger}/api/traces?service=edge&operation=${encodeURIComponent("POST /api/v1/bookings")}&limit=20&lookback=1h`);
        if (!res.ok) return undefined;
        const { data } = (await res.json()) as { data: JaegerTrace[] };
        return data.find((t) => {
          const services = new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName));
          return ["edge", "booking", "slot", "notifier"].every((s) => services.has(s)) && t.spans.some((s) => s.operationName === "notification send email");
        });
      },
      90_000,
      1_000,
    );

    const services = new Set(trace.spans.map((s) => trace.processes[s.processID]?.serviceName));
    const operations = trace.spans.map((s) => `${trace.processes[s.processID]?.serviceName}: ${s.operationName}`);
    expect([...services].sort()).toEqual(expect.arrayContaining(["booking", "edge", "notifier", "slot"]));
    const has = (predicate: (s: JaegerSpan) => boolean, what: string) => {
      if (!trace.spans.some(predicate)) throw new Error(`no ${what} span in the trace; spans: ${operations.join(" | ")}`);
    };
    const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
    has((s) => trace.processes[s.processID]?.serviceName === "edge" && tag(s, "span.kind") === "server", "edge HTTP server");
    has((s) => s.operationName.includes("BookingService/CreateBooking") && tag(s, "span.kind") === "server", "booking gRPC server");
    has((s) => s.operationName.includes("SlotService/GetSlot") && trace.processes[s.processID]?.serviceName === "slot", "slot gRPC server");
    has((s) => tag(s, "db.system") === "postgresql" || tag(s, "db.system.name") === "postgresql", "PostgreSQL");
    has((s) => s.operationName === "clinic.booking.events.v1 publish", "Kafka publish");
    has((s) => trace.processes[s.processID]?.serviceName === "notifier" && tag(s, "span.kind") === "consumer", "notifier consume");
    has((s) => s.operationName === "notification send email", "notifier send");
  });

  it("runs the README's API walk-through as it stands, against the running platform", async () => {
    // Exactly the README's copy (test/readme.test.ts keeps the two identical), with curl and jq.
    const { stdout } = await run("bash", [path.join(repo, "scripts/api-walkthrough")], {
      env: { ...env, EDGE_URL: settings["EDGE_URL"]!, ADMIN_EMAIL: settings["ADMIN_EMAIL"]!, ADMIN_PASSWORD: settings["ADMIN_PASSWORD"]! },
      timeout: 60_000,
    });
    const lines = stdout.trim().split("\n");
    // The answers the README's comments promise, in order: 12 scheduled slots, the booking confirmed,
    // one seat of two left, then cancelled.
    expect(lines[0]).toBe("12");
    expect(lines).toContain("confirmed");
    expect(lines).toContain("cancelled");
    expect(JSON.parse(lines[lines.indexOf("confirmed") + 1]!)).toMatchObject({ capacity: 2, held: 1, remaining: 1 });
  });
});
