import { randomBytes } from "node:crypto";
import { eventually, freePort, stackEnv, testLogger } from "@clinic/test-stack";
import { createKafka } from "./kafka";
import { SupervisedConsumer } from "./supervised-consumer";

/** An error kafkajs classes as not retriable: its runner crashes and does not restart itself. */
function notRetriable(message: string): Error {
  return Object.assign(new Error(message), { retriable: false });
}

describe("SupervisedConsumer (real broker)", () => {
  const kafka = createKafka({ clientId: "platform-supervised-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
  const topic = `test.supervised.${randomBytes(4).toString("hex")}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumers: SupervisedConsumer[] = [];

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await producer.connect();
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop(10_000);
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it("starts a consumer again after kafkajs gave up on it, and the message it failed on comes again", async () => {
    const groupId = `test-supervised-${randomBytes(4).toString("hex")}`;
    const seen: string[] = [];
    const crashes: boolean[] = [];
    let failNext = true;
    const supervised = new SupervisedConsumer({
      kafka,
      config: { groupId, maxWaitTimeInMs: 200, sessionTimeout: 6_000, heartbeatInterval: 1_000 },
      name: "test consumer",
      logger: testLogger(),
      maxBackoffMs: 1_000,
      begin: async (consumer) => {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (failNext) {
              failNext = false;
              throw notRetriable("a handler failure kafkajs will not retry");
            }
          },
        });
      },
    });
    consumers.push(supervised);
    supervised.consumer.on(supervised.consumer.events.CRASH, (event) => void crashes.push(event.payload.restart));
    supervised.start();
    await producer.send({ topic, acks: -1, messages: [{ key: "k", value: "first" }, { key: "k", value: "second" }] });

    // kafkajs crashed without restarting (restart: false); the supervisor started it again and the
    // uncommitted message was delivered once more, then the next one.
    await eventually(async () => (seen.includes("second") ? true : undefined), 60_000, 100);
    expect(crashes).toEqual([false]);
    expect(seen).toEqual(["first", "first", "second"]);
  });

  it("keeps trying while no broker answers, and a stop ends it without anything begun", async () => {
    const unreachable = createKafka({ clientId: "platform-supervised-unreachable", brokers: [`127.0.0.1:${await freePort()}`], logger: testLogger() });
    let begun = 0;
    const supervised = new SupervisedConsumer({
      kafka: unreachable,
      config: { groupId: "never-joined" },
      name: "unreachable consumer",
      logger: testLogger(),
      begin: async () => void (begun += 1),
    });
    supervised.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Bounded by the connect attempt in flight (kafkajs's own retries), not by the backoff.
    await supervised.stop();
    expect({ begun, stopped: supervised.isStopped, hasReachedBroker: supervised.hasReachedBroker }).toEqual({ begun: 0, stopped: true, hasReachedBroker: false });
  });
});
