import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { parseConfig } from "@clinic/platform/config";
import { eventsV1, notifierV1 } from "@clinic/proto";
import {
  bookingEvent, createScratchDatabase, eventually, metricSample, newEmail, newPhone, NotifierApi, notifierEnv,
  remoteError, scrapeMetrics, type ScratchDatabase, startTestIssuer, type TestIssuer, TestKafka, testLogger,
  TestSmsProvider, TestSmtpServer,
} from "@clinic/test-stack";
import { startNotifierService, type RunningNotifierService } from "../src/app";
import { configSchema } from "../src/config";

const { CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_UNSPECIFIED } = notifierV1.Channel;
const { NOTIFICATION_STATUS_SENT: SENT, NOTIFICATION_STATUS_FAILED: FAILED } = notifierV1.NotificationStatus;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("notifier on real Kafka, PostgreSQL, SMTP and HTTP", () => {
  let db: ScratchDatabase;
  const smtp = new TestSmtpServer();
  const sms = new TestSmsProvider();
  const kafka = new TestKafka("notifier");
  let service: RunningNotifierService;
  let issuer: TestIssuer;
  let api: NotifierApi;

  beforeAll(async () => {
    db = await createScratchDatabase("notifier");
    await Promise.all([smtp.start(), sms.start(), kafka.setUp()]);
    await kafka.readDlq();
    issuer = await startTestIssuer();
    const config = parseConfig(configSchema, { ...notifierEnv({ database: db.name, kafka, smtp, sms }), ...issuer.env });
    // Jitter pinned near its ceiling so the growth of the waits is measurable; the jitter itself
    // is covered by backoff.test.ts.
    service = await startNotifierService(config, testLogger("notifier"), { random: () => 0.999 });
    api = new NotifierApi(`127.0.0.1:${service.grpcPort}`, issuer.interceptor({ role: "admin" }));
  }, 60_000);

  afterAll(async () => {
    api?.close();
    if (service) expect(await service.lifecycle.shutdown("tests finished")).toBe(true);
    await kafka.tearDown();
    await Promise.all([smtp.stop(), sms.stop(), issuer?.close()]);
    await db?.drop();
  }, 60_000);

  /**
   * Waits until the notifier has handled everything produced so far on `slotId`'s partition:
   * a marker event on the same key (same partition, so handled after the rest) has been sent.
   */
  async function drain(slotId: string): Promise<void> {
    const phone = newPhone();
    await kafka.produce(bookingEvent("cancelled", { slotId, contact: phone }));
    await eventually(async () => (sms.requestsTo(phone).length > 0 ? true : undefined), 20_000);
  }

  it("reports SERVING once the consumer has joined its group", async () => {
    expect(await api.healthStatus("")).toBe("SERVING");
    expect(await api.healthStatus("clinic.notifier.v1.NotifierService")).toBe("SERVING");
  });

  it("sends exactly one e-mail and one SMS for a confirmed booking, and lists them", async () => {
    const email = newEmail();
    const phone = newPhone();
    const bookingId = randomUUID();
    const slotId = randomUUID();
    // The hold itself tells the patient nothing; the confirmation does, on both channels.
    await kafka.produce(bookingEvent("created", { bookingId, slotId, contact: email, phone }));
    const confirmed = bookingEvent("confirmed", { bookingId, slotId, contact: email, phone });
    await kafka.produce(confirmed);
    await drain(slotId);

    const mails = smtp.mailsTo(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.raw).toMatch(new RegExp(`^To: ${email}`, "m"));
    expect(mails[0]!.raw).toMatch(/^Subject: Your appointment is confirmed/m);
    expect(mails[0]!.raw).toContain(bookingId);
    expect(mails[0]!.raw).toContain("2026-03-02T09:30:00Z (UTC)");
    const texts = sms.requestsTo(phone);
    expect(texts).toHaveLength(1);
    expect(texts[0]!.text).toContain(bookingId);
    expect(texts[0]!.authorization).toBe("Bearer test-token");
    expect(texts[0]!.idempotencyKey).toBe(texts[0]!.reference);

    const { notifications } = await api.listNotifications(bookingId);
    expect(notifications.map((n) => n.channel).sort()).toEqual([CHANNEL_EMAIL, CHANNEL_SMS]);
    for (const n of notifications) {
      expect(n).toMatchObject({ eventId: confirmed.eventId, bookingId, eventType: "booking.confirmed", status: SENT, attempts: 1, error: "" });
      expect(n.sentTime).toBeInstanceOf(Date);
    }
  });

  it("sends nothing new when an event is delivered again, and records the skip", async () => {
    const email = newEmail();
    const phone = newPhone();
    const slotId = randomUUID();
    const confirmed = bookingEvent("confirmed", { slotId, contact: email, phone });
    await kafka.produce(confirmed);
    await drain(slotId);
    const skippedBefore = metricSample(await scrapeMetrics(service.metricsPort), "notifications_total", { channel: "sms", outcome: "skipped_duplicate" }) ?? 0;

    // The outbox relay is at-least-once: the same event id arrives again.
    await kafka.produce(confirmed);
    await kafka.produce(confirmed);
    await drain(slotId);

    expect(smtp.mailsTo(email)).toHaveLength(1);
    expect(sms.requestsTo(phone)).toHaveLength(1);
    const rows = await db.knex("notifications").where({ event_id: confirmed.eventId }).orderBy("channel");
    expect(rows.map((r: { channel: string; status: string; duplicate_deliveries: number }) => [r.channel, r.status, r.duplicate_deliveries])).toEqual([
      ["email", "sent", 2],
      ["sms", "sent", 2],
    ]);
    const metrics = await scrapeMetrics(service.metricsPort);
    expect(metricSample(metrics, "notifications_total", { channel: "sms", outcome: "skipped_duplicate" })).toBe(skippedBefore + 2);
  });

  it("retries failing providers with growing waits and delivers on the third try", async () => {
    const email = newEmail();
    const phone = newPhone();
    sms.plan(phone, 503, 503);
    smtp.plan(email, 451);
    const event = bookingEvent("confirmed", { contact: email, phone });
    await kafka.produce(event);

    await eventually(async () => (sms.requestsTo(phone).some((r) => r.status === 200) ? true : undefined), 20_000);
    const tries = sms.requestsTo(phone);
    expect(tries.map((r) => r.status)).toEqual([503, 503, 200]);
    const gaps = [tries[1]!.at - tries[0]!.at, tries[2]!.at - tries[1]!.at];
    // Waits of 0.999 x 200 ms, then 0.999 x 400 ms (the ceiling doubles per attempt).
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[0]).toBeLessThan(190 + 1_000);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(gaps[1]! - gaps[0]!).toBeGreaterThan(100);

    // SMTP 451 is transient too: the e-mail goes out on its second try.
    await eventually(async () => (smtp.mailsTo(email).length > 0 ? true : undefined), 10_000);
    expect(smtp.attempts.filter((a) => a.to === email).map((a) => a.code)).toEqual([451, 250]);

    const { notifications } = await eventually(async () => {
      const list = await api.listNotifications(event.bookingId);
      return list.notifications.length === 2 && list.notifications.every((n) => n.status === SENT) ? list : undefined;
    });
    expect(notifications.find((n) => n.channel === CHANNEL_SMS)).toMatchObject({ attempts: 3, error: "" });
    expect(notifications.find((n) => n.channel === CHANNEL_EMAIL)).toMatchObject({ attempts: 2, error: "" });
  });

  it("dead-letters after exactly three failed tries, lists it, and replays it once", async () => {
    const phone = newPhone();
    sms.failAlways(phone, 503);
    const event = bookingEvent("confirmed", { contact: phone });
    const value = await kafka.produce(event);

    const parked = await kafka.waitForDlq((m) => kafka.dlqHeader(m, "dlq-reason") === "RETRIES_EXHAUSTED" && m.value?.equals(value) === true);
    expect(kafka.dlqHeader(parked, "dlq-attempts")).toBe("3");
    expect(kafka.dlqHeader(parked, "dlq-channel")).toBe("sms");
    expect(kafka.dlqHeader(parked, "dlq-error")).toBe("SMS provider answered HTTP 503");
    expect(kafka.dlqHeader(parked, "dlq-source-topic")).toBe(kafka.eventsTopic);
    expect(kafka.dlqHeader(parked, "event-type")).toBe("booking.confirmed");
    expect(parked.key?.toString()).toBe(event.slotId);
    await sleep(500);
    expect(sms.requestsTo(phone).map((r) => r.status)).toEqual([503, 503, 503]);

    const { deadLetters } = await api.listDeadLetters(100);
    const entry = deadLetters.find((d) => d.eventId === event.eventId);
    expect(entry).toMatchObject({
      id: kafka.dlqHeader(parked, "dlq-id"),
      bookingId: event.bookingId,
      eventType: "booking.confirmed",
      channel: CHANNEL_SMS,
      reason: "RETRIES_EXHAUSTED",
      attempts: 3,
      replayTime: undefined,
    });
    const [failed] = (await api.listNotifications(event.bookingId)).notifications;
    expect(failed).toMatchObject({ status: FAILED, attempts: 3, error: "SMS provider answered HTTP 503" });

    // The provider recovers; an operator replays the entry.
    sms.recover(phone);
    const { deadLetter } = await api.replay(entry!.id);
    expect(deadLetter).toMatchObject({ id: entry!.id, replayStatus: SENT });
    expect(deadLetter!.replayTime).toBeInstanceOf(Date);
    expect(sms.requestsTo(phone).map((r) => r.status)).toEqual([503, 503, 503, 200]);
    const [delivered] = (await api.listNotifications(event.bookingId)).notifications;
    expect(delivered).toMatchObject({ status: SENT, attempts: 4, error: "" });

    const again = await remoteError(api.replay(entry!.id));
    expect(again).toMatchObject({ code: status.ABORTED, reason: "DEAD_LETTER_ALREADY_REPLAYED" });
    expect(sms.requestsTo(phone)).toHaveLength(4);
  });

  it("does not retry a permanent refusal (SMS 4xx, SMTP 5xx)", async () => {
    const email = newEmail();
    const phone = newPhone();
    sms.plan(phone, 400, 400, 400);
    smtp.plan(email, 550, 550, 550);
    const event = bookingEvent("cancelled", { contact: email, phone });
    const value = await kafka.produce(event);

    for (const channel of ["sms", "email"]) {
      const parked = await kafka.waitForDlq((m) => kafka.dlqHeader(m, "dlq-channel") === channel && m.value?.equals(value) === true);
      expect(kafka.dlqHeader(parked, "dlq-reason")).toBe("PERMANENT_FAILURE");
      expect(kafka.dlqHeader(parked, "dlq-attempts")).toBe("1");
    }
    expect(sms.requestsTo(phone)).toHaveLength(1);
    expect(smtp.attempts.filter((a) => a.to === email)).toHaveLength(1);
    // The SMTP reply quoted the address; the stored error does not.
    const [row] = await db.knex("dead_letters").where({ event_id: event.eventId, channel: "email" });
    expect(row.error).toMatch(/^SMTP reply 550/);
    expect(row.error).not.toContain(email);
  });

  it("dead-letters a malformed message with its bytes and goes on with the next one", async () => {
    const slotId = randomUUID();
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
    await kafka.produceRaw(slotId, garbage, "booking.confirmed");
    // Decodes, but without the ids a notification is keyed by.
    const noIds = Buffer.from(eventsV1.BookingEvent.encode({ ...bookingEvent("confirmed", { slotId, contact: newEmail() }), eventId: "" }).finish());
    await kafka.produceRaw(slotId, noIds, "booking.confirmed");
    const email = newEmail();
    const good = bookingEvent("confirmed", { slotId, contact: email });
    await kafka.produce(good);

    const parked = await kafka.waitForDlq((m) => m.value?.equals(garbage) === true);
    expect(kafka.dlqHeader(parked, "dlq-reason")).toBe("MALFORMED");
    expect(kafka.dlqHeader(parked, "dlq-attempts")).toBe("0");
    expect(kafka.dlqHeader(parked, "dlq-error")).toMatch(/^not a BookingEvent protobuf/);
    expect(parked.key?.toString()).toBe(slotId);
    const parkedNoIds = await kafka.waitForDlq((m) => m.value?.equals(noIds) === true);
    expect(kafka.dlqHeader(parkedNoIds, "dlq-reason")).toBe("MALFORMED");
    expect(kafka.dlqHeader(parkedNoIds, "dlq-error")).toBe("event_id is missing or not a UUID");

    await eventually(async () => (smtp.mailsTo(email).length === 1 ? true : undefined), 20_000);

    const { deadLetters } = await api.listDeadLetters(100);
    const entry = deadLetters.find((d) => d.id === kafka.dlqHeader(parked, "dlq-id"));
    expect(entry).toMatchObject({ reason: "MALFORMED", channel: CHANNEL_UNSPECIFIED, eventId: "", eventType: "booking.confirmed", attempts: 0 });
    const refused = await remoteError(api.replay(entry!.id));
    expect(refused).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "DEAD_LETTER_NOT_REPLAYABLE" });
  });

  it("tells the patient a hold lapsed, with the contact booking.expired carries", async () => {
    const email = newEmail();
    const bookingId = randomUUID();
    const slotId = randomUUID();
    await kafka.produce(bookingEvent("created", { bookingId, slotId, contact: email }));
    await kafka.produce(bookingEvent("expired", { bookingId, slotId, contact: email }));
    const [mail] = await eventually(async () => {
      const mails = smtp.mailsTo(email);
      return mails.length > 0 ? mails : undefined;
    }, 20_000);
    expect(mail!.raw).toMatch(/^Subject: Your appointment hold lapsed/m);
    expect(mail!.raw).toContain(bookingId);
    // A hold is not worth keeping anything for.
    expect(await db.knex("booking_contacts").where({ booking_id: bookingId })).toEqual([]);
  });

  it("tells the patient a hold lapsed from a contact kept by an older notifier, for an older producer's event", async () => {
    const email = newEmail();
    const bookingId = randomUUID();
    // What an older notifier kept from booking.created, and an older producer's booking.expired
    // (no contact fields).
    await db.knex("booking_contacts").insert({ booking_id: bookingId, patient_name: "Jane Doe", patient_contact: email, patient_phone: "", slot_start_time: null });
    const legacy = bookingEvent("expired", { bookingId });
    await kafka.produce({ ...legacy, payload: { $case: "expired", value: { patientName: "", patientContact: "", patientPhone: "", slotStartTime: undefined } } });
    const [mail] = await eventually(async () => {
      const mails = smtp.mailsTo(email);
      return mails.length > 0 ? mails : undefined;
    }, 20_000);
    expect(mail!.raw).toMatch(/^Subject: Your appointment hold lapsed/m);
    // The kept contact is gone once the hold is over.
    await eventually(async () => ((await db.knex("booking_contacts").where({ booking_id: bookingId })).length === 0 ? true : undefined));
  });

  it("pages dead letters newest first", async () => {
    const all = (await api.listDeadLetters(100)).deadLetters;
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let token = "";
    do {
      const page = await api.listDeadLetters(1, token);
      expect(page.deadLetters.length).toBeLessThanOrEqual(1);
      seen.push(...page.deadLetters.map((d) => d.id));
      token = page.nextPageToken;
    } while (token !== "");
    expect(seen).toEqual(all.map((d) => d.id));
    const times = all.map((d) => d.createTime!.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("validates admin requests with field violations", async () => {
    expect(await remoteError(api.listNotifications("not-a-uuid"))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "VALIDATION_FAILED",
      violations: [{ field: "booking_id", message: "must be a UUID" }],
    });
    expect(await remoteError(api.listDeadLetters(1_000))).toMatchObject({ code: status.INVALID_ARGUMENT, violations: [{ field: "page_size" }] });
    expect(await remoteError(api.listDeadLetters(10, "garbage"))).toMatchObject({ code: status.INVALID_ARGUMENT, violations: [{ field: "page_token" }] });
    expect(await remoteError(api.replay(""))).toMatchObject({ code: status.INVALID_ARGUMENT, violations: [{ field: "id" }] });
    expect(await remoteError(api.replay(randomUUID()))).toMatchObject({ code: status.NOT_FOUND, reason: "DEAD_LETTER_NOT_FOUND" });
    expect((await api.listNotifications(randomUUID())).notifications).toEqual([]);
  });

  it("answers its admin API to admins only: UNAUTHENTICATED without a token, PERMISSION_DENIED for others", async () => {
    const address = `127.0.0.1:${service.grpcPort}`;
    const anonymous = new NotifierApi(address);
    const patient = new NotifierApi(address, issuer.interceptor({ role: "patient" }));
    const doctor = new NotifierApi(address, issuer.interceptor({ role: "doctor" }));
    try {
      const id = randomUUID();
      const refusals = [
        [anonymous, { code: status.UNAUTHENTICATED, reason: "AUTHENTICATION_REQUIRED" }],
        [patient, { code: status.PERMISSION_DENIED, reason: "FORBIDDEN" }],
        [doctor, { code: status.PERMISSION_DENIED, reason: "FORBIDDEN" }],
      ] as const;
      for (const [caller, refusal] of refusals) {
        expect(await remoteError(caller.listNotifications(id))).toMatchObject(refusal);
        expect(await remoteError(caller.listDeadLetters())).toMatchObject(refusal);
        expect(await remoteError(caller.replay(id))).toMatchObject(refusal);
      }
      // Health stays open to probes without a token.
      expect(await anonymous.healthStatus("")).toBe("SERVING");
      // The admin gets past the check to the handlers.
      expect(await api.listNotifications(id)).toEqual({ notifications: [] });
      expect(await remoteError(api.replay(id))).toMatchObject({ code: status.NOT_FOUND, reason: "DEAD_LETTER_NOT_FOUND" });
    } finally {
      for (const client of [anonymous, patient, doctor]) client.close();
    }
  });

  it("exports notification, dead-letter and consumer lag metrics", async () => {
    const text = await eventually(async () => {
      const t = await scrapeMetrics(service.metricsPort);
      // Everything produced so far is handled and committed.
      const lags = [0, 1, 2].map((p) => metricSample(t, "notifier_consumer_lag", { partition: String(p) }));
      return lags.every((l) => l === 0) ? t : undefined;
    }, 20_000);
    expect(metricSample(text, "notifications_total", { channel: "email", outcome: "sent" })).toBeGreaterThanOrEqual(4);
    expect(metricSample(text, "notifications_total", { channel: "sms", outcome: "failed" })).toBeGreaterThanOrEqual(5);
    expect(metricSample(text, "notifications_total", { channel: "sms", outcome: "dead_lettered" })).toBeGreaterThanOrEqual(2);
    expect(metricSample(text, "dlq_messages_total", { reason: "MALFORMED" })).toBe(2);
    expect(metricSample(text, "dlq_messages_total", { reason: "RETRIES_EXHAUSTED" })).toBe(1);
    expect(metricSample(text, "notification_send_seconds_count", { channel: "sms" })).toBeGreaterThanOrEqual(8);

    // A message produced now shows up as lag until the notifier has handled it.
    const phone = newPhone();
    sms.delayMs = 1_500;
    try {
      await kafka.produce(bookingEvent("confirmed", { contact: phone }));
      await eventually(async () => {
        const t = await scrapeMetrics(service.metricsPort);
        return [0, 1, 2].some((p) => (metricSample(t, "notifier_consumer_lag", { partition: String(p) }) ?? 0) > 0) ? true : undefined;
      }, 10_000);
    } finally {
      sms.delayMs = 0;
    }
  });
});
