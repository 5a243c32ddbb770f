import { randomUUID } from "node:crypto";
import { encodeChecked, type MessageEncoder } from "@clinic/proto/shapes";
import type { OutboxEvent } from "./outbox";

/** The fields every event message starts with: consumers deduplicate by the id. */
export interface EventEnvelope {
  eventId: string;
  occurTime: Date;
}

/**
 * An event for the outbox as a protobuf message: a new event id, given to both the message and
 * the outbox row (the relay's `event-id` header), and the time it happened.
 *
 * The message is checked against its proto type (`messageType`, e.g.
 * `clinic.events.v1.SlotEvent`) before it is encoded, as gRPC messages are: a missing field
 * throws (naming it) inside the writer's transaction instead of reaching every consumer as the
 * text "undefined".
 */
export function protoOutboxEvent<M>(
  codec: MessageEncoder<M>,
  event: { topic: string; type: string; key: string; messageType: string; occurTime?: Date },
  message: (envelope: EventEnvelope) => M,
): OutboxEvent {
  const envelope = { eventId: randomUUID(), occurTime: event.occurTime ?? new Date() };
  return {
    eventId: envelope.eventId,
    topic: event.topic,
    key: event.key,
    type: event.type,
    payload: encodeChecked(event.messageType, codec, message(envelope)),
  };
}
