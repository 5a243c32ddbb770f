import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type NotificationOutcome = "sent" | "failed" | "skipped_duplicate" | "dead_lettered";

export interface NotifierMetrics {
  /**
   * sent and dead_lettered are final outcomes (one per notification), failed counts every failed
   * attempt (so failed/sent is the providers' error rate), skipped_duplicate every redelivery
   * of a notification already handled.
   */
  notifications: Counter<"channel" | "outcome">;
  sendSeconds: Histogram<"channel">;
  deadLetters: Counter<"reason">;
  consumerLag: Gauge<"partition">;
}

// Provider calls: tens of milliseconds when healthy, seconds when struggling, capped by timeouts.
const SEND_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  return {
    notifications: new Counter({
      name: "notifications_total",
      help: "Notifications by channel and outcome (sent, failed attempt, skipped duplicate, dead-lettered)",
      labelNames: ["channel", "outcome"],
      registers: [registry],
    }),
    sendSeconds: new Histogram({
      name: "notification_send_seconds",
      help: "Time of one send attempt to the e-mail or SMS provider",
      labelNames: ["channel"],
      buckets: SEND_BUCKETS,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "dlq_messages_total",
      help: "Messages parked on the dead-letter topic, by reason",
      labelNames: ["reason"],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: "notifier_consumer_lag",
      help: "Booking events not yet handled: the topic's high watermark minus the group's committed offset, by partition",
      labelNames: ["partition"],
      registers: [registry],
    }),
  };
}
