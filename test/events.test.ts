import { randomBytes, randomUUID } from "node:crypto";
import { createKafka, type Consumer, type KafkaMessage } from "@clinic/platform/kafka";
import { eventsV1 } from "@clinic/proto";
import { eventually, Fixtures, Http, type Stack, stackEnv, startStackWithFixtures, testLogger } from "@clinic/test-stack";

/**
 * From an HTTP booking to a sent e-mail and SMS: the booking's state changes go through the
 * shard's outbox to Kafka, in order, and the notifier turns them into exactly one e-mail and one
 * text message. Real PostgreSQL, Kafka, SMTP and HTTP throughout.
 */
describe("booking events through the outbox to the notifier", () => {
  const suffix = randomBytes(4).toString("hex");
  const topics = { eventsTopic: `test.e2e.booking-events.${suffix}`, dlqTopic: `test.e2e.dlq.${suffix}`, group: `test-e2e-notifier-${suffix}` };
  const kafka = createKafka({ clientId: "e2e-events", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
  let consumer: Consumer;
  const received: KafkaMessage[] = [];
  let stack: Stack, http: Http, make: Fixtures;

  beforeAll(async () => {
    ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_events", notifier: topics }));
    consumer = kafka.consumer({ groupId: `test-e2e-reader-${suffix}` });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.eventsTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message);
      },
    });
  });
  afterAll(async () => {
    await consumer?.disconnect();
    await stack?.stop();
  });

  const eventsOf = (bookingId: string) =>
    received
      .map((m) => ({ type: m.headers?.["event-type"]?.toString(), event: eventsV1.BookingEvent.decode(m.value!) }))
      .filter((e) => e.event.bookingId === bookingId);

  it("publishes created then confirmed, and the notifier sends one e-mail and one SMS", async () => {
    const slot = await make.slot((await make.doctor()).id, { capacity: 3 });
    const email = `patient-${suffix}@example.org`;
    const phone = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
    const created = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id, { patientContact: email, patientPhone: phone }));
    expect(created.status).toBe(201);
    const bookingId: string = created.body.id;
    expect((await http.post(`/api/v1/bookings/${bookingId}/confirm`)).status).toBe(200);

    const events = await eventually(async () => {
      const found = eventsOf(bookingId);
      return found.length >= 2 ? found : undefined;
    }, 20_000);
    expect(events.map((e) => e.type)).toEqual(["booking.created", "booking.confirmed"]);
    expect(events.map((e) => e.event.payload?.$case)).toEqual(["created", "confirmed"]);
    expect(events[0]!.event).toMatchObject({ slotId: slot.id, doctorId: created.body.doctorId, patientId: created.body.patientId });
    expect(new Set(events.map((e) => e.event.eventId)).size).toBe(2);
    // Both are keyed by the slot, so they share a partition and its order.
    const keys = received.filter((m) => eventsOf(bookingId).some((e) => e.event.eventId === eventsV1.BookingEvent.decode(m.value!).eventId)).map((m) => m.key?.toString());
    expect(new Set(keys)).toEqual(new Set([slot.id]));

    const { smtp, sms } = stack.notifier!;
    await eventually(async () => (smtp.mailsTo(email).length === 1 && sms.requestsTo(phone).length === 1) || undefined, 20_000);
    expect(smtp.mailsTo(email)[0]!.raw).toContain(bookingId);
    expect(sms.requestsTo(phone)[0]!.text).toContain(bookingId);

    const notifications = await eventually(async () => {
      const res = await http.get(`/api/v1/bookings/${bookingId}/notifications`);
      return res.body.notifications?.filter((n: { status?: string }) => n.status === "sent").length === 2 ? res.body.notifications : undefined;
    });
    expect(notifications.map((n: { channel: string }) => n.channel).sort()).toEqual(["email", "sms"]);
    expect(notifications.every((n: { eventType: string }) => n.eventType === "booking.confirmed")).toBe(true);

    // Nothing more arrives later: one of each, not one per event or per redelivery.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(smtp.mailsTo(email)).toHaveLength(1);
    expect(sms.requestsTo(phone)).toHaveLength(1);
  });

  it("books and confirms in one step: created and confirmed in one transaction, one e-mail and one SMS", async () => {
    const slot = await make.slot((await make.doctor()).id, { capacity: 1 });
    const email = `instant-${suffix}@example.org`;
    const phone = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
    const booked = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id, { patientContact: email, patientPhone: phone, confirm: true }));
    expect(booked.status).toBe(201);
    expect(booked.body.status).toBe("confirmed");
    // The only seat is taken for good: nothing lapses, the next patient finds the slot full.
    const late = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id, { confirm: true }));
    expect({ status: late.status, code: late.body.error.code }).toEqual({ status: 409, code: "SLOT_FULL" });

    const events = await eventually(async () => {
      const found = eventsOf(booked.body.id);
      return found.length >= 2 ? found : undefined;
    }, 20_000);
    expect(events.map((e) => e.type)).toEqual(["booking.created", "booking.confirmed"]);
    const { smtp, sms } = stack.notifier!;
    await eventually(async () => (smtp.mailsTo(email).length === 1 && sms.requestsTo(phone).length === 1) || undefined, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.mailsTo(email)).toHaveLength(1);
    expect(sms.requestsTo(phone)).toHaveLength(1);
  });

  it("lists dead letters and refuses a bad id through the edge's admin routes", async () => {
    const page = await http.get("/api/v1/admin/dead-letters?pageSize=5");
    expect(page.status).toBe(200);
    expect(page.body).toEqual({ deadLetters: [] });
    const unknown = await http.post(`/api/v1/admin/dead-letters/${randomUUID()}/replay`);
    expect(unknown.status).toBe(404);
    const bad = await http.post("/api/v1/admin/dead-letters/not-a-uuid/replay");
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 400, code: "VALIDATION_FAILED" });
  });
});
