import { randomBytes } from "node:crypto";
import { eventually, stackEnv, testLogger } from "@clinic/test-stack";
import { createKafka } from "./kafka";
import { BroadcastListener, type BroadcastMessage } from "./kafka-broadcast";

describe("BroadcastListener (real broker)", () => {
  const kafka = createKafka({ clientId: "platform-broadcast-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
  const topic = `test.broadcast.${randomBytes(4).toString("hex")}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const listeners: BroadcastListener[] = [];

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await producer.connect();
  });

  afterAll(async () => {
    for (const listener of listeners) await listener.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  const listen = (received: BroadcastMessage[], caughtUp: string[], name: string): BroadcastListener => {
    const listener = new BroadcastListener({
      kafka,
      topics: [topic],
      groupPrefix: "test-broadcast",
      handle: (message) => void received.push(message),
      caughtUp: () => void caughtUp.push(name),
      logger: testLogger(),
      maxWaitTimeInMs: 200,
    });
    listeners.push(listener);
    listener.start();
    return listener;
  };

  it("gives every process every record from the moment it caught up, then deletes its group", async () => {
    // A record from before the listeners started is not theirs: they start at the latest offset.
    await producer.send({ topic, messages: [{ key: "old", value: "before" }], acks: -1 });
    const [a, b]: BroadcastMessage[][] = [[], []];
    const caughtUp: string[] = [];
    const first = listen(a, caughtUp, "a");
    const second = listen(b, caughtUp, "b");
    expect(first.groupId).not.toBe(second.groupId);
    await Promise.all([first.caughtUp(), second.caughtUp()]);
    expect(caughtUp.sort()).toEqual(["a", "b"]);

    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 3}`, value: `v${i}` }));
    await producer.send({ topic, messages: sent, acks: -1 });
    for (const received of [a, b]) {
      await eventually(async () => (received.length >= sent.length ? true : undefined), 20_000, 50);
      expect(received.map((m) => m.value?.toString()).sort()).toEqual(sent.map((m) => m.value).sort());
      expect(received.every((m) => m.topic === topic && typeof m.offset === "string")).toBe(true);
    }

    await first.stop();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups).not.toContain(first.groupId);
    expect(groups).toContain(second.groupId);
  });
});
