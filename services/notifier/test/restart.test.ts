import { parseConfig } from "@clinic/platform/config";
import { notifierV1 } from "@clinic/proto";
import {
  bookingEvent, createScratchDatabase, eventually, newPhone, NotifierApi, notifierEnv, type ScratchDatabase,
  startTestIssuer, type TestIssuer, TestKafka, testLogger, TestSmsProvider, TestSmtpServer,
} from "@clinic/test-stack";
import { startNotifierService, type RunningNotifierService } from "../src/app";
import { configSchema, type NotifierConfig } from "../src/config";

describe("graceful shutdown between attempts, and resuming after it", () => {
  let db: ScratchDatabase;
  const smtp = new TestSmtpServer();
  const sms = new TestSmsProvider();
  const kafka = new TestKafka("notifier-restart");
  let config: NotifierConfig;
  let issuer: TestIssuer;
  const services: RunningNotifierService[] = [];

  beforeAll(async () => {
    db = await createScratchDatabase("notifier_restart");
    await Promise.all([smtp.start(), sms.start(), kafka.setUp()]);
    issuer = await startTestIssuer();
    // Long waits between attempts, so the shutdown lands in one.
    config = parseConfig(configSchema, {
      ...notifierEnv({ database: db.name, kafka, smtp, sms }),
      ...issuer.env,
      RETRY_BASE_DELAY_MS: "5000",
      RETRY_MAX_DELAY_MS: "10000",
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of services) await s.lifecycle.shutdown("tests finished");
    await kafka.tearDown();
    await Promise.all([smtp.stop(), sms.stop(), issuer?.close()]);
    await db?.drop();
  }, 60_000);

  it("stops promptly during a backoff wait, and the next instance resumes the attempts where they were", async () => {
    const phone = newPhone();
    sms.plan(phone, 503);
    const first = await startNotifierService(config, testLogger("notifier"), { random: () => 0.999 });
    services.push(first);
    const event = bookingEvent("confirmed", { contact: phone });
    await kafka.produce(event);
    await eventually(async () => (sms.requestsTo(phone).length === 1 ? true : undefined), 20_000);
    // The first attempt failed; the notifier is now waiting ~5 s before the second.
    await eventually(async () => ((await db.knex("notifications").where({ event_id: event.eventId, status: "pending" })).length === 1 ? true : undefined));

    const started = Date.now();
    expect(await first.lifecycle.shutdown("test")).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Released, not left claimed: known undelivered, one attempt used.
    const [released] = await db.knex("notifications").where({ event_id: event.eventId });
    expect(released).toMatchObject({ status: "pending", attempts: 1 });
    expect(released.lease_expires_at.getTime()).toBeLessThanOrEqual(Date.now());
    expect(sms.requestsTo(phone)).toHaveLength(1);

    // The message was not committed, so the next instance gets it and carries on at attempt 2.
    const second = await startNotifierService(config, testLogger("notifier"));
    services.push(second);
    await eventually(async () => (sms.requestsTo(phone).length === 2 ? true : undefined), 20_000);
    expect(sms.requestsTo(phone).map((r) => r.status)).toEqual([503, 200]);
    const api = new NotifierApi(`127.0.0.1:${second.grpcPort}`, issuer.interceptor({ role: "admin" }));
    try {
      const list = await eventually(async () => {
        const { notifications } = await api.listNotifications(event.bookingId);
        return notifications[0]?.status === notifierV1.NotificationStatus.NOTIFICATION_STATUS_SENT ? notifications : undefined;
      });
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ attempts: 2, error: "" });
    } finally {
      api.close();
    }
    expect(await db.knex("dead_letters").count({ n: "*" })).toEqual([{ n: 0 }]);
  });
});
