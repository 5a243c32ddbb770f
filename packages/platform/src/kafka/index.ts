/** @clinic/platform/kafka: Kafka clients (kafkajs) and the every-replica broadcast listener. */
export { BroadcastListener, type BroadcastListenerOptions, type BroadcastMessage } from "./kafka-broadcast";
export {
  type Admin,
  type Consumer,
  createKafka,
  type EachMessagePayload,
  Kafka,
  type KafkaMessage,
  Partitioners,
  type Producer,
} from "./kafka";
