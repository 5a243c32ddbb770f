// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
const { dashboard, query, row, timeseries, bargauge } = require("./panels");

module.exports = dashboard("kafka-notifier", "clinic-events", "Clinic / Kafka and notifier", ["clinic", "kafka", "notifier"], {
  description: "Outbox relays to Kafka, the notifier's consumer lag, notifications by channel and outcome, send latency and dead letters.",
  rows: [
    row("Outbox relays (producers)", [
      timeseries("Events published/s by outbox", [8, 8], "ops", [
        query(`sum by (outbox) (rate(outbox_published_total[$__rate_interval]))`, "{{outbox}}"),
      ]),
      timeseries("Failed relay rounds/s by outbox", [8, 8], "ops", [
        query(`sum by (outbox) (rate(outbox_publish_failures_total[$__rate_interval]))`, "{{outbox}}"),
      ], { mayBeEmpty: "it counts failed publishes only." }),
      timeseries("Outbox backlog by service", [8, 8], "short", [query(`sum by (service) (outbox_backlog)`, "{{service}}")]),
    ]),
    row("Notifier (consumer)", [
      timeseries("Consumer lag by partition", [12, 8], "short", [
        query(`sum by (partition) (notifier_consumer_lag{service="notifier"})`, "partition {{partition}}"),
      ], { description: "Booking events not yet handled: high watermark minus the group's committed offset.", thresholds: [["green", null], ["orange", 500]] }),
      timeseries("Notifications/s by channel and outcome", [12, 8], "ops", [
        query(`sum by (channel, outcome) (rate(notifications_total{service="notifier"}[$__rate_interval]))`, "{{channel}} {{outcome}}"),
      ]),
      timeseries("Send latency by channel", [12, 8], "s", [
        query(
          `histogram_quantile(0.5, sum by (channel, le) (rate(notification_send_seconds_bucket{service="notifier"}[$__rate_interval])))`,
          "{{channel}} p50",
        ),
        query(
          `histogram_quantile(0.95, sum by (channel, le) (rate(notification_send_seconds_bucket{service="notifier"}[$__rate_interval])))`,
          "{{channel}} p95",
        ),
        query(
          `histogram_quantile(0.99, sum by (channel, le) (rate(notification_send_seconds_bucket{service="notifier"}[$__rate_interval])))`,
          "{{channel}} p99",
        ),
      ]),
      timeseries("Failed attempts ratio by channel", [12, 8], "percentunit", [
        query(
          `sum by (channel) (rate(notifications_total{service="notifier",outcome="failed"}[$__rate_interval]))
/
sum by (channel) (rate(notifications_total{service="notifier",outcome=~"sent|failed"}[$__rate_interval]))`,
          "{{channel}}",
        ),
      ], { mayBeEmpty: "it counts failed sends only.", min: 0, thresholds: [["green", null], ["orange", 0.2]] }),
    ]),
    row("Dead letters", [
      timeseries("Dead letters per minute by reason", [12, 8], "short", [
        query(`sum by (reason) (rate(dlq_messages_total{service="notifier"}[$__rate_interval])) * 60`, "{{reason}}"),
      ], {
        description: "Critical above 10 per minute (design 6.3). Replay after the fix: POST /api/v1/admin/dead-letters/{id}/replay.",
        mayBeEmpty: "only dead-lettered messages show here.",
        stacked: true,
        thresholds: [["green", null], ["red", 10]],
      }),
      bargauge("Dead letters in the selected range", [12, 8], "short", [
        query(`sum by (reason) (increase(dlq_messages_total{service="notifier"}[$__range]))`, "{{reason}}"),
      ], { mayBeEmpty: "only dead-lettered messages show here." }),
    ]),
  ],
});
