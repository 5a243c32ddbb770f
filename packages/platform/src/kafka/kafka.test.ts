import { randomBytes } from "node:crypto";
import { stackEnv, testLogger } from "@clinic/test-stack";
import { createKafka, type Consumer, type KafkaMessage } from "./kafka";

describe("Kafka (real broker)", () => {
  const kafka = createKafka({ clientId: "platform-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
  const topic = `test.roundtrip.${randomBytes(4).toString("hex")}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await producer.connect();
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it("round-trips keyed messages with headers through a consumer group, in order per key", async () => {
    const sent = Array.from({ length: 20 }, (_, i) => ({
      key: `slot-${i % 3}`,
      value: JSON.stringify({ seq: i }),
      headers: { "event-id": `e-${i}` },
    }));
    await producer.send({ topic, messages: sent, acks: -1 });

    consumer = kafka.consumer({ groupId: `test-${randomBytes(4).toString("hex")}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: KafkaMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${sent.length}`)), 30_000);
      void consumer!.run({
        eachMessage: async ({ message }) => {
          received.push(message);
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });

    expect(received).toHaveLength(sent.length);
    for (const key of ["slot-0", "slot-1", "slot-2"]) {
      const seqs = received
        .filter((m) => m.key?.toString() === key)
        .map((m) => (JSON.parse(m.value!.toString()) as { seq: number }).seq);
      const expected = sent.filter((m) => m.key === key).map((m) => (JSON.parse(m.value) as { seq: number }).seq);
      expect(seqs).toEqual(expected);
    }
    const first = received.find((m) => m.key?.toString() === "slot-0");
    expect(first?.headers?.["event-id"]?.toString()).toBe("e-0");
  });
});
