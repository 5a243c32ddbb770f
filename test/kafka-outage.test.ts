import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { eventually, Fixtures, Http, isolatedStackEnv, SseClient, type Stack, startStackWithFixtures } from "@clinic/test-stack";

const run = promisify(execFile);
const repo = path.join(__dirname, "..");

/**
 * A Kafka broker of this test's own (the shared test broker must keep serving other test files),
 * started, stopped and restarted with the repository's stack script.
 */
class PrivateKafka {
  private readonly stateDir = mkdtempSync(path.join(tmpdir(), "clinic-kafka-"));
  private readonly env = isolatedStackEnv(this.stateDir);
  brokers = "";

  async up(): Promise<void> {
    await run("bash", [path.join(repo, "scripts/stack"), "up", "kafka"], { env: this.env, timeout: 150_000 });
    const settings = readFileSync(path.join(this.stateDir, "stack.env"), "utf8");
    this.brokers = /^KAFKA_BROKERS=(.+)$/m.exec(settings)![1]!;
  }

  down(): Promise<unknown> {
    return run("bash", [path.join(repo, "scripts/stack"), "down", "kafka"], { env: this.env, timeout: 60_000 });
  }

  reset(): Promise<unknown> {
    return run("bash", [path.join(repo, "scripts/stack"), "reset"], { env: this.env, timeout: 60_000 });
  }
}

async function outboxBacklog(stack: Stack): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.booking.metricsPort}/metrics`)).text();
  return [...text.matchAll(/^outbox_backlog\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * The broker goes away while patients keep booking: every booking still succeeds, the outbox
 * backlog grows and is visible, and once the broker is back every event arrives and every
 * patient gets exactly one e-mail and one SMS, none lost and none twice; a live availability
 * stream opened before the outage shows the seats booked during it once the broker is back.
 */
describe("a Kafka outage during bookings", () => {
  jest.setTimeout(240_000);
  const kafka = new PrivateKafka();
  let stack: Stack, http: Http, make: Fixtures;

  beforeAll(async () => {
    await kafka.up();
    ({ stack, http, make } = await startStackWithFixtures({
      name: "e2e_kafka_outage",
      kafkaBrokers: kafka.brokers,
      notifier: { eventsTopic: "clinic.booking.events.v1", dlqTopic: "bookings.dlq", group: "notifier" },
    }));
  });
  afterAll(async () => {
    await stack?.stop();
    await kafka.reset();
  });

  it("loses no event and sends no notification twice", async () => {
    const slot = await make.slot((await make.doctor()).id, { capacity: 50 });
    const patients: { email: string; phone: string }[] = [];
    const bookAndConfirm = async (): Promise<void> => {
      const n = patients.length;
      const patient = { email: `outage-${n}-${randomUUID().slice(0, 8)}@example.org`, phone: `+1555${String(1_000_000 + n).padStart(7, "0")}` };
      patients.push(patient);
      const created = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id, { patientContact: patient.email, patientPhone: patient.phone }));
      expect(created.status).toBe(201);
      expect((await http.post(`/api/v1/bookings/${created.body.id}/confirm`)).status).toBe(200);
    };
    const allNotified = async (): Promise<true | undefined> => {
      const { smtp, sms } = stack.notifier!;
      return patients.every((p) => smtp.mailsTo(p.email).length >= 1 && sms.requestsTo(p.phone).length >= 1) || undefined;
    };

    for (let i = 0; i < 5; i += 1) await bookAndConfirm();
    await eventually(allNotified, 60_000, 200);
    // A patient's page watching the slot live, through the outage.
    const watcher = await SseClient.open(stack.baseUrl, `/api/v1/availability/stream?slotIds=${slot.id}`);
    const remaining = () => watcher.availability().at(-1)?.remaining;
    await watcher.waitFor(() => (remaining() === 45 ? true : undefined), 10_000, "45 seats left");

    await kafka.down();
    for (let i = 0; i < 10; i += 1) await bookAndConfirm();
    // Writes kept succeeding; their events wait in the outbox, and the backlog says so.
    await eventually(async () => ((await outboxBacklog(stack)) >= 20 ? true : undefined), 10_000);

    await kafka.up();
    await eventually(allNotified, 150_000, 500);
    await eventually(async () => ((await outboxBacklog(stack)) === 0 ? true : undefined), 30_000);
    // The edge's event feed came back by itself, and the stream shows the seats booked meanwhile.
    await watcher.waitFor(() => (remaining() === 35 ? true : undefined), 60_000, "35 seats left");
    expect(watcher.status).toBe(200);
    watcher.close();

    // Redeliveries after the outage are deduplicated: exactly one of each per patient.
    await new Promise((r) => setTimeout(r, 2_000));
    const { smtp, sms } = stack.notifier!;
    for (const p of patients) {
      expect({ patient: p.email, mails: smtp.mailsTo(p.email).length, texts: sms.requestsTo(p.phone).length }).toEqual({ patient: p.email, mails: 1, texts: 1 });
    }
  });
});
