import { createScratchDatabase, eventually, LogRecorder, PrivateKafka, type ScratchDatabase } from "@clinic/test-stack";
import { Registry } from "prom-client";
import { createKafka, type Admin, type Consumer, type Kafka } from "../kafka/kafka";
import { isProducerStateError, RenewableProducer } from "../kafka/renewable-producer";
import { OutboxRelay, createOutboxMetrics, createOutboxTable, writeOutbox } from "./outbox";

/**
 * A broker that stalls past the producer's request timeout, then goes on and appends what it had
 * received: kafkajs gave the send up and rolled its sequence numbers back, so the broker refuses
 * every later batch of that producer as out of order. The relay must not stall for good: it takes
 * a new producer and publishes everything (the stalled batch possibly twice).
 */
describe("outbox relay after a broker stalled mid-send (real PostgreSQL, private Kafka)", () => {
  jest.setTimeout(180_000);
  const broker = new PrivateKafka();
  const logs = new LogRecorder();
  const topic = "test.outbox.renewal";
  let kafka: Kafka;
  let admin: Admin;
  let db: ScratchDatabase;
  let consumer: Consumer | undefined;
  let producer: RenewableProducer | undefined;

  beforeAll(async () => {
    await broker.up();
    db = await createScratchDatabase("outbox_renewal");
    await createOutboxTable(db.knex);
    kafka = createKafka({ clientId: "outbox-renewal", brokers: [broker.brokers], logger: logs.logger("outbox") });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  });
  afterAll(async () => {
    broker.thaw();
    await consumer?.disconnect();
    await admin?.disconnect();
    await producer?.disconnect().catch(() => undefined);
    await db?.drop();
    await broker.reset();
  });

  it("takes a new producer when the broker refuses the old one's sequence, and publishes every event", async () => {
    // Requests time out after 2 s (not 10), one retry: the stall outlasts a send within seconds.
    const relayKafka = createKafka({ clientId: "outbox-renewal-relay", brokers: [broker.brokers], logger: logs.logger("relay"), requestTimeoutMs: 2_000 });
    let created = 0;
    producer = new RenewableProducer(() => {
      created += 1;
      return relayKafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 100 } });
    }, logs.logger("relay"));
    const metrics = createOutboxMetrics(new Registry());
    // Rounds run one by one here (relayOnce), so which batch the broker sees when is certain.
    const relay = new OutboxRelay({ name: "renewal", db: db.knex, producer, logger: logs.logger("relay"), metrics });
    const write = (seq: number) =>
      db.knex.transaction((trx) => writeOutbox(trx, [{ topic, key: "slot-1", type: "test.event", payload: Buffer.from(JSON.stringify({ seq })) }]));
    const appended = async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high);

    const received: number[] = [];
    consumer = kafka.consumer({ groupId: "outbox-renewal-reader", maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push((JSON.parse(message.value!.toString()) as { seq: number }).seq) });

    await write(1);
    expect(await relay.relayOnce()).toBe(1);

    // The broker stalls with the batch of event 2 in its socket: the send times out (twice).
    broker.freeze();
    await write(2);
    await expect(relay.relayOnce()).rejects.toThrow(/timed out/i);
    await write(3);
    broker.thaw();
    // It goes on and appends the batch after all; the relay still holds events 2 and 3.
    await eventually(async () => ((await appended()) === 2 ? true : undefined), 30_000, 100);

    // The next batch (2 and 3) reuses the rolled-back sequence: refused, and the producer renewed.
    const refused = await relay.relayOnce().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isProducerStateError(refused)).toBe(true);
    expect(created).toBe(2);
    expect(logs.warnings()).toMatch(/refused the producer's id or sequence/);
    // With the new producer the batch goes out; event 2 is in the topic twice, as at-least-once allows.
    expect(await relay.relayOnce()).toBe(2);
    await logs.explain(eventually(async () => (received.length >= 4 ? true : undefined), 30_000, 100));
    expect(received).toEqual([1, 2, 2, 3]);
  });
});
