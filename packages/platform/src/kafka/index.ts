/** @clinic/platform/kafka: Kafka clients (kafkajs), the every-replica broadcast listener, consumers that restart after kafkajs gives up, and every topic's name. */
export { BroadcastListener, type BroadcastListenerOptions, type BroadcastMessage } from "./kafka-broadcast";
export {
  type Admin,
  type Consumer,
  consumerRetry,
  createKafka,
  type EachMessagePayload,
  Kafka,
  type KafkaMessage,
  Partitioners,
  type Producer,
} from "./kafka";
export { isProducerStateError, RenewableProducer } from "./renewable-producer";
export { SupervisedConsumer, type SupervisedConsumerOptions } from "./supervised-consumer";
export { type TopicName, TOPICS } from "./topics";
