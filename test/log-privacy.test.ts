import { randomBytes } from "node:crypto";
import { createLogger, type Logger } from "@clinic/platform/logging";
import { addMinutes, eventually, hoursAhead, Http, type Stack, startStack } from "@clinic/test-stack";

/**
 * Patient contact data and secrets never reach a log line. Every service logs at the most
 * verbose level into memory while a patient registers, signs in, books with a name, an e-mail
 * address and a phone number, is notified (one SMS failing until it is dead-lettered), and sends
 * malformed requests that carry the same data; then no line may contain any of it.
 */
describe("log privacy", () => {
  jest.setTimeout(180_000);
  const suffix = randomBytes(4).toString("hex");
  const lines: string[] = [];
  const capture = (service: string): Logger =>
    createLogger({ service, level: "trace", destination: { write: (line: string) => void lines.push(line) } });

  const secrets = {
    name: `Zebulon Quux${suffix}`,
    email: `zq.${suffix}@private.example.org`,
    phone: `+4915${String(parseInt(suffix, 16) % 1e9).padStart(9, "0")}`,
    password: `pw-${suffix}-correct-horse`,
  };
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      name: "e2e_logs",
      logger: capture,
      notifier: { eventsTopic: `test.logs.events.${suffix}`, dlqTopic: `test.logs.dlq.${suffix}`, group: `test-logs-${suffix}` },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("keeps names, e-mail addresses, phone numbers, passwords and tokens out of every log line", async () => {
    const anonymous = new Http(stack.baseUrl);
    const admin = stack.http();
    // The SMS provider refuses this number: retries, then a dead letter, all logged.
    stack.notifier!.sms.failAlways(secrets.phone, 500);
    // The mail server turns the address away once (a retry, with the server's answer logged).
    stack.notifier!.smtp.plan(secrets.email, 451);

    expect((await anonymous.post("/api/v1/auth/register", { email: secrets.email, password: secrets.password })).status).toBe(201);
    const signIn = await anonymous.post("/api/v1/auth/token", { email: secrets.email, password: secrets.password });
    expect(signIn.status).toBe(200);
    const refreshed = await anonymous.post("/api/v1/auth/refresh", { refreshToken: signIn.body.refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await anonymous.post("/api/v1/auth/token", { email: secrets.email, password: `${secrets.password}-wrong` })).status).toBe(401);
    const token = refreshed.body.accessToken as string;
    const patient = new Http(stack.baseUrl, { token: async () => token }, { role: "patient" });

    const doctor = (await admin.post("/api/v1/doctors", { name: "Dr. Logged", specialization: "cardiology" })).body;
    const start = hoursAhead(50);
    const slot = (await admin.post(`/api/v1/doctors/${doctor.id}/slots`, { startTime: start.toISOString(), endTime: addMinutes(start, 30).toISOString(), capacity: 2 })).body;
    const booking = await patient.post("/api/v1/bookings", {
      slotId: slot.id,
      patientName: secrets.name,
      patientContact: secrets.email,
      patientPhone: secrets.phone,
      confirm: true,
    });
    expect(booking.status).toBe(201);
    // The same data in requests that fail: validation, a conflict, a bad token.
    expect((await patient.post("/api/v1/bookings", { slotId: slot.id, patientName: secrets.name, patientContact: secrets.email, patientPhone: secrets.phone })).status).toBe(409);
    expect((await patient.post("/api/v1/bookings", { slotId: "nope", patientName: secrets.name, patientContact: `${secrets.email}x@`, patientPhone: secrets.phone })).status).toBe(400);
    expect((await anonymous.request("GET", "/api/v1/accounts/me", { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);

    // Wait for the e-mail to go out and the SMS to be dead-lettered.
    await eventually(async () => ((await admin.get("/api/v1/admin/dead-letters")).body.deadLetters.length > 0 ? true : undefined), 60_000, 500);
    await eventually(async () => (stack.notifier!.smtp.mailsTo(secrets.email).length > 0 ? true : undefined), 60_000, 250);

    // The paths that handle the data did log (at every level down to trace).
    const messages = new Set(lines.map((line) => (JSON.parse(line) as { msg: string }).msg));
    for (const msg of ["notification attempt failed", "dead-lettered", "notification sent", "admin action", "grpc call"]) {
      expect({ msg, logged: messages.has(msg) }).toEqual({ msg, logged: true });
    }
    const leaks = lines.filter((line) =>
      [secrets.name, secrets.email, secrets.phone, secrets.phone.slice(1), secrets.password, token, signIn.body.refreshToken].some((s) => line.includes(s)),
    );
    expect(leaks.slice(0, 5)).toEqual([]);
  });
});
