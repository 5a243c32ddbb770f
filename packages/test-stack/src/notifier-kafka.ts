import { randomBytes } from "node:crypto";
import { createKafka, type Consumer, type KafkaMessage, type Producer } from "@clinic/platform/kafka";
import { eventsV1 } from "@clinic/proto";
import { eventually } from "./eventually";
import { stackEnv, testLogger } from "./stack-env";

const hex = (bytes = 4): string => randomBytes(bytes).toString("hex");

// Per-file topics and consumer groups for a notifier under test, so parallel test files never
// share either.

export class TestKafka {
  readonly kafka = createKafka({ clientId: "notifier-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger("kafka") });
  readonly eventsTopic: string;
  readonly dlqTopic: string;
  readonly group: string;
  private readonly admin = this.kafka.admin();
  private producer: Producer | undefined;
  private dlqConsumer: Consumer | undefined;
  /** Everything that arrived on the dead-letter topic. */
  readonly dlq: KafkaMessage[] = [];

  constructor(name: string) {
    const suffix = hex();
    this.eventsTopic = `test.${name}.booking-events.${suffix}`;
    this.dlqTopic = `test.${name}.dlq.${suffix}`;
    this.group = `test-${name}-notifier-${suffix}`;
  }

  async setUp(): Promise<void> {
    await this.admin.connect();
    await this.admin.createTopics({
      topics: [
        { topic: this.eventsTopic, numPartitions: 3, replicationFactor: 1 },
        { topic: this.dlqTopic, numPartitions: 1, replicationFactor: 1 },
      ],
      waitForLeaders: true,
    });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  /** Collects the dead-letter topic from its start. */
  async readDlq(): Promise<void> {
    this.dlqConsumer = this.kafka.consumer({ groupId: `${this.group}-dlq-reader` });
    await this.dlqConsumer.connect();
    await this.dlqConsumer.subscribe({ topic: this.dlqTopic, fromBeginning: true });
    await this.dlqConsumer.run({
      eachMessage: async ({ message }) => {
        this.dlq.push(message);
      },
    });
  }

  /** Produces a BookingEvent as the booking service's outbox relay does: key = slot id. */
  async produce(event: eventsV1.BookingEvent): Promise<Buffer> {
    const value = Buffer.from(eventsV1.BookingEvent.encode(event).finish());
    await this.produceRaw(event.slotId, value, event.payload ? `booking.${event.payload.$case}` : undefined);
    return value;
  }

  async produceRaw(key: string, value: Buffer, eventType?: string): Promise<void> {
    await this.producer!.send({
      topic: this.eventsTopic,
      acks: -1,
      messages: [{ key, value, headers: eventType ? { "event-type": eventType } : {} }],
    });
  }

  dlqHeader(message: KafkaMessage, name: string): string | undefined {
    const value = message.headers?.[name];
    return value === undefined ? undefined : (Array.isArray(value) ? value[0] : value)?.toString();
  }

  async waitForDlq(predicate: (m: KafkaMessage) => boolean, timeoutMs = 20_000): Promise<KafkaMessage> {
    return eventually(async () => this.dlq.find(predicate), timeoutMs);
  }

  async tearDown(): Promise<void> {
    await this.dlqConsumer?.disconnect();
    await this.producer?.disconnect();
    await this.admin.deleteTopics({ topics: [this.eventsTopic, this.dlqTopic] }).catch(() => undefined);
    await this.admin.disconnect();
  }
}
