import { Kafka, logLevel, type LogEntry, type logCreator, type RetryOptions } from "kafkajs";
import type { Logger } from "../logging/logger";

export { Kafka, Partitioners } from "kafkajs";
export type { Consumer, Producer, Admin, EachMessagePayload, KafkaMessage } from "kafkajs";

/** Routes kafkajs's own logs into the service's JSON log at matching levels. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const child = { kafka: extra };
      if (level === logLevel.ERROR) logger.error(child, message);
      else if (level === logLevel.WARN) logger.warn(child, message);
      else if (level === logLevel.INFO) logger.debug(child, message);
      else logger.trace(child, message);
    };
}

export function createKafka(settings: { clientId: string; brokers: readonly string[]; logger: Logger; requestTimeoutMs?: number }): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: 3_000,
    requestTimeout: settings.requestTimeoutMs ?? 10_000,
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(settings.logger),
    retry: { initialRetryTime: 200, retries: 8 },
  });
}

/**
 * A consumer's retry settings (kafkajs's consumer default of 5 retries) that never restart a
 * consumer its owner has stopped. kafkajs restarts a crashed consumer on a timer of its own, and a
 * crash caused by the owner's own disconnect (a stop landing mid-join) would bring it back: running,
 * holding a broker connection and its process open, after everyone believes it stopped.
 */
export function consumerRetry(stopped: () => boolean): RetryOptions & { restartOnFailure: () => Promise<boolean> } {
  return { retries: 5, restartOnFailure: () => Promise.resolve(!stopped()) };
}
