import { randomUUID } from "node:crypto";
import { eventually } from "@clinic/test-support";
import { Http, signIn } from "./harness";
import { startPlatform, type PlatformProcesses } from "./platform-processes";

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
  let platform: PlatformProcesses;
  let settings: Record<string, string>;

  beforeAll(async () => {
    platform = await startPlatform(["postgres", "redis", "kafka", "jaeger", "sinks", "doctor", "slot", "booking", "notifier", "edge"]);
    settings = platform.settings;
  });
  afterAll(async () => {
    await platform?.stop();
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
});
