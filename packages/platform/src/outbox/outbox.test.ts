import { randomBytes } from "node:crypto";
import { createScratchDatabase, eventually, stackEnv, testLogger, type ScratchDatabase } from "@clinic/test-stack";
import { Registry } from "prom-client";
import { createKafka, type Consumer, type KafkaMessage } from "../kafka/kafka";
import { RenewableProducer } from "../kafka/renewable-producer";
import { OutboxRelay, createOutboxMetrics, createOutboxTable, writeOutbox } from "./outbox";

describe("transactional outbox relay (real PostgreSQL and Kafka)", () => {
  const kafka = createKafka({ clientId: "outbox-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
  const topic = `test.outbox.${randomBytes(4).toString("hex")}`;
  const admin = kafka.admin();
  const idempotent = (): RenewableProducer => new RenewableProducer(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1 }), testLogger());
  const producers = [idempotent(), idempotent()];
  let db: ScratchDatabase;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    db = await createScratchDatabase("outbox");
    await createOutboxTable(db.knex);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await consumer?.disconnect();
    await Promise.all(producers.map((p) => p.disconnect()));
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    await db.drop();
  });

  it("publishes committed events once each, in order per key, with two relays running; rolled-back events never", async () => {
    const registry = new Registry();
    const metrics = createOutboxMetrics(registry);
    const relays = producers.map(
      (producer) => new OutboxRelay({ name: "test", db: db.knex, producer, logger: testLogger(), metrics, batchSize: 17, idleMs: 20 }),
    );
    const keys = ["slot-a", "slot-b", "slot-c", "slot-d"];
    // 200 committed events in 40 transactions, plus one transaction that rolls back.
    for (let t = 0; t < 40; t += 1) {
      await db.knex.transaction((trx) =>
        writeOutbox(
          trx,
          Array.from({ length: 5 }, (_, i) => ({
            topic,
            key: keys[(t + i) % keys.length]!,
            type: "test.event",
            payload: Buffer.from(JSON.stringify({ seq: t * 5 + i })),
          })),
        ),
      );
    }
    await db.knex
      .transaction(async (trx) => {
        await writeOutbox(trx, [{ topic, key: "slot-a", type: "test.event", payload: Buffer.from('{"seq":-1}') }]);
        throw new Error("state change failed");
      })
      .catch(() => undefined);

    expect(await registry.getSingleMetricAsString("outbox_backlog")).toMatch(/outbox_backlog\{outbox="test"\} 200/);

    relays.forEach((relay) => relay.start());

    consumer = kafka.consumer({ groupId: `outbox-test-${randomBytes(4).toString("hex")}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: KafkaMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${received.length} of 200`)), 30_000);
      void consumer!.run({
        eachMessage: async ({ message }) => {
          received.push(message);
          if (received.length >= 200) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    // Nothing more arrives: no duplicates, no rolled-back event.
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(relays.map((relay) => relay.stop()));

    const seqs = received.map((m) => (JSON.parse(m.value!.toString()) as { seq: number }).seq);
    expect(seqs).toHaveLength(200);
    expect(new Set(seqs).size).toBe(200);
    expect(seqs).not.toContain(-1);
    for (const key of keys) {
      const ofKey = received.filter((m) => m.key?.toString() === key).map((m) => (JSON.parse(m.value!.toString()) as { seq: number }).seq);
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
    }
    const ids = received.map((m) => m.headers?.["event-id"]?.toString());
    expect(new Set(ids).size).toBe(200);
    expect(received[0]?.headers?.["event-type"]?.toString()).toBe("test.event");
    expect(await registry.getSingleMetricAsString("outbox_backlog")).toMatch(/outbox_backlog\{outbox="test"\} 0/);
    expect(await registry.getSingleMetricAsString("outbox_published_total")).toMatch(/outbox_published_total\{outbox="test"\} 200/);
  });

  it("is woken by the commit (LISTEN/NOTIFY) instead of waiting for its fallback poll", async () => {
    const registry = new Registry();
    const metrics = createOutboxMetrics(registry);
    const relay = new OutboxRelay({ name: "notify", db: db.knex, producer: producers[0]!, logger: testLogger(), metrics, idleMs: 30_000 });
    await db.knex.raw("UPDATE outbox SET published_at = now() WHERE published_at IS NULL");
    relay.start();
    // The first round runs at start; from then on only a notification can wake it within 30 s.
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    await db.knex.transaction((trx) => writeOutbox(trx, [{ topic, key: "slot-n", type: "test.event", payload: Buffer.from('{"seq":1000}') }]));
    await eventually(async () => (/outbox_published_total\{outbox="notify"\} 1/.test(await registry.getSingleMetricAsString("outbox_published_total")) ? true : undefined), 10_000, 20);
    expect(Date.now() - started).toBeLessThan(5_000);
    await relay.stop();
  });

  it("keeps writes working and the backlog visible while Kafka is unreachable", async () => {
    const registry = new Registry();
    const metrics = createOutboxMetrics(registry);
    const unreachableKafka = createKafka({ clientId: "outbox-down", brokers: ["127.0.0.1:1"], logger: testLogger() });
    const unreachable = new RenewableProducer(() => unreachableKafka.producer({ retry: { retries: 0 } }), testLogger());
    const relay = new OutboxRelay({ name: "down", db: db.knex, producer: unreachable, logger: testLogger(), metrics, idleMs: 20 });
    await db.knex.raw("DELETE FROM outbox");
    relay.start();
    for (let i = 0; i < 5; i += 1) {
      await db.knex.transaction((trx) => writeOutbox(trx, [{ topic, key: "k", type: "test.event", payload: Buffer.from("{}") }]));
    }
    expect(await registry.getSingleMetricAsString("outbox_backlog")).toMatch(/outbox_backlog\{outbox="down"\} 5/);
    await eventually(async () =>
      /outbox_publish_failures_total\{outbox="down"\} [1-9]/.test(await registry.getSingleMetricAsString("outbox_publish_failures_total")) || undefined,
    );
    await relay.stop(500);
    await unreachable.disconnect();
  });
});
