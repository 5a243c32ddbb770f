import { randomUUID } from "node:crypto";
import type { OutboxEvent } from "./outbox";

/** A generated protobuf message type (`eventsV1.SlotEvent`): what encodes it. */
interface MessageCodec<M> {
  encode(message: M): { finish(): Uint8Array };
}

/** The fields every event message starts with: consumers deduplicate by the id. */
export interface EventEnvelope {
  eventId: string;
  occurTime: Date;
}

/**
 * An event for the outbox as a protobuf message: a new event id, given to both the message and
 * the outbox row (the relay's `event-id` header), and the time it happened.
 */
export function protoOutboxEvent<M>(
  codec: MessageCodec<M>,
  event: { topic: string; type: string; key: string; occurTime?: Date },
  message: (envelope: EventEnvelope) => M,
): OutboxEvent {
  const envelope = { eventId: randomUUID(), occurTime: event.occurTime ?? new Date() };
  return {
    eventId: envelope.eventId,
    topic: event.topic,
    key: event.key,
    type: event.type,
    payload: codec.encode(message(envelope)).finish(),
  };
}
