import { createKafka, Partitioners, RenewableProducer } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import { openOwnDatabase, serveGrpc, startService, type RunningGrpcService } from "@clinic/platform/service";
import { migrations } from "../migrations";
import { BookingEventConsumer, ConsumerLagPoller } from "./booking-event-consumer";
import { BookingEventHandler } from "./booking-event-handler";
import { retrySettingsOf, type NotifierConfig } from "./config";
import { DeadLetterPublisher } from "./dead-letter-publisher";
import { DeadLetterReplayer } from "./dead-letter-replay";
import { NotificationRepository } from "./notification-repository";
import { createNotifierMetrics } from "./notifier-metrics";
import { HttpSmsSender, SmtpSender } from "./senders";
import { NOTIFIER_SERVICE_NAME, notifierService } from "./grpc-handlers";

export type RunningNotifierService = RunningGrpcService;

/** Test seams that are not configuration. */
export interface NotifierOverrides {
  /** Randomness of the backoff jitter, in [0, 1). */
  random?: () => number;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Wires the notifier; `main.ts` and tests both start it here. Health turns SERVING only once the
 * consumer has joined its group, and goes NOT_SERVING while the consumer is down.
 */
export function startNotifierService(
  config: NotifierConfig,
  logger?: Logger,
  overrides: NotifierOverrides = {},
): Promise<RunningNotifierService> {
  return startService({ name: "notifier", config, logger }, async (service) => {
    const { lifecycle, logger: log } = service;
    const notifierMetrics = createNotifierMetrics(service.registry);
    // Shutdown by stage: gRPC server (traffic), consumer and pollers (workers: stop consuming,
    // commit what is handled), DLQ producer (messaging), senders (clients), database (storage).
    const db = await openOwnDatabase(service, migrations);
    const repo = new NotificationRepository(db);

    const senders = {
      email: new SmtpSender({
        host: config.SMTP_HOST,
        port: config.SMTP_PORT,
        secure: config.SMTP_SECURE,
        user: config.SMTP_USER,
        password: config.SMTP_PASSWORD,
        from: config.SMTP_FROM,
        timeoutMs: config.SMTP_SEND_TIMEOUT_MS,
      }),
      sms: new HttpSmsSender({ url: config.SMS_PROVIDER_URL, token: config.SMS_PROVIDER_TOKEN, timeoutMs: config.SMS_SEND_TIMEOUT_MS }),
    };
    lifecycle.onShutdown("senders", "clients", () => Promise.all([senders.email.close(), senders.sms.close()]));

    const kafka = createKafka({ clientId: "notifier", brokers: config.KAFKA_BROKERS, logger: log });
    const producer = new RenewableProducer(
      () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner }),
      log,
    );
    await producer.connected();
    lifecycle.onShutdown("dead-letter producer", "messaging", () => producer.disconnect());

    const handler = new BookingEventHandler({
      repo,
      senders,
      dlq: new DeadLetterPublisher(producer, config.DLQ_TOPIC),
      metrics: notifierMetrics,
      logger: log,
      retry: retrySettingsOf(config),
      leaseMs: config.CLAIM_LEASE_MS,
      ...(overrides.random ? { random: overrides.random } : {}),
    });
    const consumer = new BookingEventConsumer(
      kafka,
      {
        topic: config.BOOKING_EVENTS_TOPIC,
        groupId: config.CONSUMER_GROUP,
        fromBeginning: config.CONSUMER_FROM_BEGINNING,
        partitionsConsumedConcurrently: config.PARTITIONS_CONSUMED_CONCURRENTLY,
        sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
        rebalanceTimeoutMs: config.CONSUMER_REBALANCE_TIMEOUT_MS,
        joinTimeoutMs: config.CONSUMER_JOIN_TIMEOUT_MS,
      },
      handler,
      log,
    );
    lifecycle.onShutdown("consumer", "workers", () => consumer.stop());
    await consumer.start();

    const lag = new ConsumerLagPoller(
      kafka.admin(),
      { topic: config.BOOKING_EVENTS_TOPIC, groupId: config.CONSUMER_GROUP, fromBeginning: config.CONSUMER_FROM_BEGINNING, intervalMs: config.LAG_POLL_INTERVAL_MS },
      notifierMetrics.consumerLag,
      log,
    );
    lifecycle.onShutdown("lag poller", "workers", () => lag.stop());
    await lag.start();

    const maintenance = setInterval(() => {
      repo.purgeContacts(config.CONTACT_RETENTION_HOURS).catch((err: unknown) => log.warn({ err }, "contact purge failed"));
    }, HOUR_MS);
    maintenance.unref();
    lifecycle.onShutdown("maintenance", "workers", async () => clearInterval(maintenance));

    const running = await serveGrpc(service, [
      notifierService(repo, new DeadLetterReplayer({ repo, senders, metrics: notifierMetrics, logger: log })),
    ]);
    consumer.onMembershipChange((member) => {
      if (lifecycle.shuttingDown) return;
      running.grpc.health.set("", member ? "SERVING" : "NOT_SERVING");
      running.grpc.health.set(NOTIFIER_SERVICE_NAME, member ? "SERVING" : "NOT_SERVING");
    });
    return running;
  });
}
