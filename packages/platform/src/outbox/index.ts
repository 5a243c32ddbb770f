/** @clinic/platform/outbox: The transactional outbox: events written with the data, relayed to Kafka. */
export {
  createOutboxMetrics,
  createOutboxPublisher,
  createOutboxTable,
  dropOutboxTable,
  OUTBOX_CHANNEL,
  type OutboxEvent,
  type OutboxMetrics,
  type OutboxPublisher,
  OutboxRelay,
  type OutboxRelayOptions,
  outboxTraceHeaders,
  writeOutbox,
} from "./outbox";
export { type EventEnvelope, protoOutboxEvent } from "./outbox-event";
