import { env, grpcServiceWithDatabaseConfigSchema, loadConfigOrExit } from "@clinic/platform/config";
import { TOPICS } from "@clinic/platform/kafka";
import { z } from "zod";
import { worstCaseDeliveryMs } from "./backoff";

/** A TCP port a client connects to: 0 ("any") makes no sense here, unlike for a listener. */
const remotePort = () => z.coerce.number().int().min(1).max(65535);

export const configSchema = grpcServiceWithDatabaseConfigSchema({ grpcPort: 50054, metricsPort: 9468, database: "clinic_notifier" })
  .extend({

    BOOKING_EVENTS_TOPIC: z.string().default(TOPICS.bookingEvents),
    DLQ_TOPIC: z.string().default(TOPICS.bookingsDeadLetters),
    CONSUMER_GROUP: z.string().default("notifier"),
    /**
     * Where a group without committed offsets starts. From the beginning by default: on a first
     * deployment a late "your appointment is confirmed" beats a silently missing one.
     */
    CONSUMER_FROM_BEGINNING: env.bool().default(true),
    /** Partitions handled in parallel (messages within one partition stay in order). */
    PARTITIONS_CONSUMED_CONCURRENTLY: env.positiveInt().default(5),
    /**
     * A member that vanished without leaving holds its partitions until this runs out. That is
     * also every consumer after a broker restart: its old member id, loaded back by the broker,
     * blocks the new one's join until it expires. Handling heartbeats every second, so 10 s (not
     * kafkajs's 30 s) is safe and cuts that pause threefold.
     */
    CONSUMER_SESSION_TIMEOUT_MS: env.positiveInt().default(10_000),
    CONSUMER_REBALANCE_TIMEOUT_MS: env.positiveInt().default(60_000),
    /** Start-up fails when the consumer has not joined its group by then. */
    CONSUMER_JOIN_TIMEOUT_MS: env.positiveInt().default(60_000),
    LAG_POLL_INTERVAL_MS: env.positiveInt().default(5_000),

    SMTP_HOST: z.string(),
    SMTP_PORT: remotePort().default(587),
    /** Implicit TLS (port 465 style); otherwise STARTTLS is used when the server offers it. */
    SMTP_SECURE: env.bool().default(false),
    SMTP_USER: z.string().optional(),
    SMTP_PASSWORD: z.string().optional(),
    /** Sender address, `notify@clinic.example` or `Clinic <notify@clinic.example>`. */
    SMTP_FROM: z.string().regex(/^([^<>]*<)?[^\s@<>]+@[^\s@<>]+>?$/, "expected an e-mail address"),
    SMTP_SEND_TIMEOUT_MS: env.positiveInt().default(10_000),

    SMS_PROVIDER_URL: z.url({ protocol: /^https?$/ }),
    SMS_PROVIDER_TOKEN: z.string().optional(),
    SMS_SEND_TIMEOUT_MS: env.positiveInt().default(5_000),

    /** Attempts in total per notification, the first one included (design document 6.3). */
    RETRY_MAX_ATTEMPTS: env.positiveInt().default(3),
    RETRY_BASE_DELAY_MS: env.positiveInt().default(500),
    RETRY_MAX_DELAY_MS: env.positiveInt().default(5_000),
    /**
     * How long a claimed send may stay in flight before another consumer treats its outcome as
     * unknown (the claimant died mid-send) and dead-letters it instead of sending it again.
     */
    CLAIM_LEASE_MS: env.positiveInt().default(20_000),
    /** Contacts kept from booking.created events (for the "hold lapsed" message) expire after this. */
    CONTACT_RETENTION_HOURS: env.positiveInt().default(192),
  })
  .superRefine((c, ctx) => {
    if ((c.SMTP_USER === undefined) !== (c.SMTP_PASSWORD === undefined)) {
      ctx.addIssue({ code: "custom", path: ["SMTP_PASSWORD"], message: "SMTP_USER and SMTP_PASSWORD must be set together" });
    }
    if (c.RETRY_MAX_DELAY_MS < c.RETRY_BASE_DELAY_MS) {
      ctx.addIssue({ code: "custom", path: ["RETRY_MAX_DELAY_MS"], message: "must be at least RETRY_BASE_DELAY_MS" });
    }
    const sendTimeout = Math.max(c.SMTP_SEND_TIMEOUT_MS, c.SMS_SEND_TIMEOUT_MS);
    // An attempt must end (success, failure or timeout) well inside its lease, or a healthy but
    // slow sender would be taken for dead.
    if (c.CLAIM_LEASE_MS < sendTimeout + 1_000) {
      ctx.addIssue({ code: "custom", path: ["CLAIM_LEASE_MS"], message: "must exceed the longest send timeout by at least 1000 ms" });
    }
    // One message is handled inside one eachMessage call; it must finish before the group
    // coordinator gives up on this member during a rebalance.
    const worst = worstCaseDeliveryMs(retrySettingsOf(c), sendTimeout) + c.CLAIM_LEASE_MS;
    if (worst >= c.CONSUMER_REBALANCE_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["CONSUMER_REBALANCE_TIMEOUT_MS"],
        message: `must exceed the worst-case handling time of one message (${worst} ms from the retry, timeout and lease settings)`,
      });
    }
  });

export type NotifierConfig = z.output<typeof configSchema>;

export function retrySettingsOf(c: Pick<NotifierConfig, "RETRY_MAX_ATTEMPTS" | "RETRY_BASE_DELAY_MS" | "RETRY_MAX_DELAY_MS">) {
  return { maxAttempts: c.RETRY_MAX_ATTEMPTS, baseDelayMs: c.RETRY_BASE_DELAY_MS, maxDelayMs: c.RETRY_MAX_DELAY_MS };
}

export const loadConfig = (): NotifierConfig => loadConfigOrExit(configSchema, "notifier");
