// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
/** @type {import("./generate").Dashboard} */
module.exports = {
  file: "kafka-notifier",
  uid: "clinic-events",
  title: "Clinic / Kafka and notifier",
  description: "Outbox relays to Kafka, the notifier's consumer lag, notifications by channel and outcome, send latency and dead letters.",
  tags: ["clinic", "kafka", "notifier"],
  rows: [
    {
      title: "Outbox relays (producers)",
      panels: [
        {
          type: "timeseries",
          title: "Events published/s by outbox",
          width: 8,
          height: 8,
          unit: "ops",
          queries: [
            { expr: "sum by (outbox) (rate(outbox_published_total[$__rate_interval]))", legend: "{{outbox}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Failed relay rounds/s by outbox",
          width: 8,
          height: 8,
          unit: "ops",
          mayBeEmpty: "it counts failed publishes only.",
          queries: [
            { expr: "sum by (outbox) (rate(outbox_publish_failures_total[$__rate_interval]))", legend: "{{outbox}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Outbox backlog by service",
          width: 8,
          height: 8,
          unit: "short",
          queries: [
            { expr: "sum by (service) (outbox_backlog)", legend: "{{service}}" },
          ],
        },
      ],
    },
    {
      title: "Notifier (consumer)",
      panels: [
        {
          type: "timeseries",
          title: "Consumer lag by partition",
          description: "Booking events not yet handled: high watermark minus the group's committed offset.",
          width: 12,
          height: 8,
          unit: "short",
          thresholds: [["green", null], ["orange", 500]],
          queries: [
            { expr: `sum by (partition) (notifier_consumer_lag{service="notifier"})`, legend: "partition {{partition}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Notifications/s by channel and outcome",
          width: 12,
          height: 8,
          unit: "ops",
          queries: [
            {
              expr: `sum by (channel, outcome) (rate(notifications_total{service="notifier"}[$__rate_interval]))`,
              legend: "{{channel}} {{outcome}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Send latency by channel",
          width: 12,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.5, sum by (channel, le) (rate(notification_send_seconds_bucket{service="notifier"}[$__rate_interval])))`,
              legend: "{{channel}} p50",
            },
            {
              expr: `histogram_quantile(0.95, sum by (channel, le) (rate(notification_send_seconds_bucket{service="notifier"}[$__rate_interval])))`,
              legend: "{{channel}} p95",
            },
            {
              expr: `histogram_quantile(0.99, sum by (channel, le) (rate(notification_send_seconds_bucket{service="notifier"}[$__rate_interval])))`,
              legend: "{{channel}} p99",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Failed attempts ratio by channel",
          width: 12,
          height: 8,
          unit: "percentunit",
          mayBeEmpty: "it counts failed sends only.",
          min: 0,
          thresholds: [["green", null], ["orange", 0.2]],
          queries: [
            {
              expr: `sum by (channel) (rate(notifications_total{service="notifier",outcome="failed"}[$__rate_interval]))
/
sum by (channel) (rate(notifications_total{service="notifier",outcome=~"sent|failed"}[$__rate_interval]))`,
              legend: "{{channel}}",
            },
          ],
        },
      ],
    },
    {
      title: "Dead letters",
      panels: [
        {
          type: "timeseries",
          title: "Dead letters per minute by reason",
          description: "Critical above 10 per minute (design 6.3). Replay after the fix: POST /api/v1/admin/dead-letters/{id}/replay.",
          width: 12,
          height: 8,
          unit: "short",
          mayBeEmpty: "only dead-lettered messages show here.",
          stacked: true,
          thresholds: [["green", null], ["red", 10]],
          queries: [
            {
              expr: `sum by (reason) (rate(dlq_messages_total{service="notifier"}[$__rate_interval])) * 60`,
              legend: "{{reason}}",
            },
          ],
        },
        {
          type: "bargauge",
          title: "Dead letters in the selected range",
          width: 12,
          height: 8,
          unit: "short",
          mayBeEmpty: "only dead-lettered messages show here.",
          queries: [
            {
              expr: `sum by (reason) (increase(dlq_messages_total{service="notifier"}[$__range]))`,
              legend: "{{reason}}",
            },
          ],
        },
      ],
    },
  ],
};
