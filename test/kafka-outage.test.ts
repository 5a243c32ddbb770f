import { randomUUID } from "node:crypto";
import { eventually, Fixtures, Http, LogRecorder, metricValue, PrivateKafka, SseClient, type Stack, startStackWithFixtures } from "@clinic/test-stack";

const outboxBacklog = (stack: Stack): Promise<number> => metricValue(stack.booking.metricsPort, "outbox_backlog");

/** Where the events stand, for a failure message: still in the outbox, failing to go out, or unread. */
async function eventPipeline(stack: Stack): Promise<string> {
  const [backlog, relayFailures, published, lag] = await Promise.all([
    outboxBacklog(stack),
    metricValue(stack.booking.metricsPort, "outbox_publish_failures_total"),
    metricValue(stack.booking.metricsPort, "outbox_published_total"),
    metricValue(stack.notifier!.metricsPort, "notifier_consumer_lag"),
  ]);
  return `outbox backlog ${backlog}, published ${published}, relay failures ${relayFailures}; notifier consumer lag ${lag}`;
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
  const logs = new LogRecorder();
  let stack: Stack, http: Http, make: Fixtures;

  beforeAll(async () => {
    await kafka.up();
    ({ stack, http, make } = await startStackWithFixtures({
      name: "e2e_kafka_outage",
      kafkaBrokers: kafka.brokers,
      logger: logs.logger,
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
    // Throws what is still missing; a timeout adds where the events stand, so it says which part stalled.
    const allNotified = async (): Promise<true> => {
      const { smtp, sms } = stack.notifier!;
      const noMail = patients.filter((p) => smtp.mailsTo(p.email).length === 0).length;
      const noText = patients.filter((p) => sms.requestsTo(p.phone).length === 0).length;
      if (noMail === 0 && noText === 0) return true;
      throw new Error(`of ${patients.length} patients ${noMail} have no e-mail and ${noText} no SMS yet`);
    };
    const everyoneNotified = (timeoutMs: number, everyMs: number): Promise<true> =>
      logs.explain(
        eventually(allNotified, timeoutMs, everyMs).catch(async (err: unknown) => {
          throw new Error(`${String(err)}; ${await eventPipeline(stack)}`);
        }),
      );

    for (let i = 0; i < 5; i += 1) await bookAndConfirm();
    await everyoneNotified(60_000, 200);
    // A patient's page watching the slot live, through the outage.
    const watcher = await SseClient.open(stack.baseUrl, `/api/v1/availability/stream?slotIds=${slot.id}`);
    const remaining = () => watcher.availability().at(-1)?.remaining;
    await watcher.waitFor(() => (remaining() === 45 ? true : undefined), 10_000, "45 seats left");

    await kafka.down();
    for (let i = 0; i < 10; i += 1) await bookAndConfirm();
    // Writes kept succeeding; their events wait in the outbox, and the backlog says so.
    await eventually(async () => ((await outboxBacklog(stack)) >= 20 ? true : undefined), 10_000);

    await kafka.up();
    await everyoneNotified(150_000, 500);
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
