import type { RenewableProducer } from "@clinic/platform/kafka";
import type { DeadLetterRow } from "./notification-repository";

export type KafkaHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** A consumed message as the handler needs it (kafkajs-independent, so tests can build one). */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaHeaders;
}

/**
 * Parks messages on the dead-letter topic: the original key, value (byte for byte) and headers
 * (trace context included), plus `dlq-*` headers saying why. Operators read the topic (30 days
 * retention); the `dead_letters` table is the admin API's view of the same entries.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: RenewableProducer,
    readonly topic: string,
  ) {}

  async publish(letter: DeadLetterRow, original: IncomingMessage): Promise<void> {
    const headers: KafkaHeaders = {};
    for (const [name, value] of Object.entries(original.headers)) {
      if (value !== undefined && !name.startsWith("dlq-")) headers[name] = value;
    }
    Object.assign(headers, {
      "dlq-id": letter.id,
      "dlq-reason": letter.reason,
      "dlq-attempts": String(letter.attempts),
      "dlq-source-topic": letter.source_topic,
      "dlq-source-partition": String(letter.source_partition),
      "dlq-source-offset": String(letter.source_offset),
      "dlq-time": letter.created_at.toISOString(),
      ...(letter.channel ? { "dlq-channel": letter.channel } : {}),
      ...(letter.error ? { "dlq-error": letter.error } : {}),
    });
    // A producer the broker no longer accepts is renewed; the handler retries the publish.
    await this.producer.use((producer) =>
      producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key: original.key, value: original.value, headers }],
      }),
    );
  }
}
