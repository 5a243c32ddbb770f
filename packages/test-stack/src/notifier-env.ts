import type { TestKafka } from "./notifier-kafka";
import type { TestSmsProvider } from "./sms-provider";
import type { TestSmtpServer } from "./smtp-server";
import { stackEnv, stackPostgresEnv } from "./stack-env";

/** The environment a notifier needs against the test stack, these topics and these providers. */
export function notifierEnv(options: { database: string; kafka: TestKafka; smtp: TestSmtpServer; sms: TestSmsProvider }): Record<string, string> {
  return {
    ...stackPostgresEnv(),
    PGDATABASE: options.database,
    KAFKA_BROKERS: stackEnv("KAFKA_BROKERS"),
    BOOKING_EVENTS_TOPIC: options.kafka.eventsTopic,
    DLQ_TOPIC: options.kafka.dlqTopic,
    CONSUMER_GROUP: options.kafka.group,
    // The broker's minimum; a member killed without leaving is noticed this quickly.
    CONSUMER_SESSION_TIMEOUT_MS: "6000",
    LAG_POLL_INTERVAL_MS: "500",
    GRPC_PORT: "0",
    METRICS_PORT: "0",
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(options.smtp.port),
    SMTP_FROM: "Clinic <notify@clinic.example>",
    SMTP_SEND_TIMEOUT_MS: "2000",
    SMS_PROVIDER_URL: options.sms.url,
    SMS_PROVIDER_TOKEN: "test-token",
    SMS_SEND_TIMEOUT_MS: "2000",
    RETRY_MAX_ATTEMPTS: "3",
    RETRY_BASE_DELAY_MS: "200",
    RETRY_MAX_DELAY_MS: "2000",
    CLAIM_LEASE_MS: "3500",
  };
}
