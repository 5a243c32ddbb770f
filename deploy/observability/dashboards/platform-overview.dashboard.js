// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
const { dashboard, labelFilter, query, row, timeseries, stat, stateTimeline } = require("./panels");

/**
 * One latency quantile of every service: the edge's HTTP requests and the gRPC services' calls.
 * @param {string} name
 * @param {number} quantile
 * @param {import("./generate").ThresholdStep[]} [thresholds]
 */
const latencyByService = (name, quantile, thresholds) =>
  timeseries(`${name} latency by service`, [8, 8], "s", [
    query(
      `histogram_quantile(${quantile}, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service, le) (rate(grpc_server_handling_seconds_bucket{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
      "{{service}}",
    ),
  ], thresholds ? { thresholds } : {});

module.exports = dashboard("platform-overview", "clinic-overview", "Clinic / Platform overview", ["clinic", "red"], {
  description: "RED per service (edge HTTP, gRPC services), edge security (rate limits, token failures, audit log), cache, process health. Errors = HTTP 5xx and the gRPC codes mapped to 5xx, as in alerts.yml.",
  variables: [labelFilter("service", "Service", "label_values(process_cpu_seconds_total, service)")],
  rows: [
    row("Now", [
      stat("Edge requests/s", [6, 4], "reqps", [
        query(`sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`, "req/s"),
      ]),
      stat("Edge 5xx ratio", [6, 4], "percentunit", [
        query(
          `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code=~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
          "5xx",
        ),
      ], { mayBeEmpty: "it counts server errors only.", thresholds: [["green", null], ["orange", 0.02], ["red", 0.05]] }),
      stat("Edge p99", [6, 4], "s", [
        query(
          `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="edge",route!~"/healthz|/readyz"}[$__rate_interval])))`,
          "p99",
        ),
      ], { thresholds: [["green", null], ["orange", 1], ["red", 2]] }),
      stat("Firing alerts", [6, 4], "short", [query(`count(ALERTS{alertstate="firing"}) or vector(0)`, "firing")], {
        description: "ALERTS is Prometheus' own series of pending and firing alerts (rules in deploy/observability/prometheus/alerts.yml).",
        thresholds: [["green", null], ["red", 1]],
      }),
    ]),
    row("Rate, errors, duration", [
      timeseries("Requests/s by service", [12, 8], "reqps", [
        query(
          `sum by (service) (rate(http_requests_total{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval]))`,
          "{{service}}",
        ),
      ], { description: "Edge: HTTP requests; others: gRPC calls handled. Health probes excluded." }),
      timeseries("Server error ratio by service", [12, 8], "percentunit", [
        query(
          `(sum by (service) (rate(http_requests_total{service=~"$service",route!~"/healthz|/readyz",status_code=~"5.."}[$__rate_interval]))
or
sum by (service) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*",grpc_code=~"UNKNOWN|DEADLINE_EXCEEDED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"}[$__rate_interval])))
/
(sum by (service) (rate(http_requests_total{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
          "{{service}}",
        ),
      ], {
        description: "Warning above 2%, critical above 5% (design 7.3).",
        mayBeEmpty: "it counts server errors only.",
        min: 0,
        thresholds: [["green", null], ["orange", 0.02], ["red", 0.05]],
      }),
      latencyByService("p50", 0.5),
      latencyByService("p95", 0.95, [["green", null], ["orange", 1]]),
      latencyByService("p99", 0.99, [["green", null], ["red", 2]]),
    ]),
    row("Edge (HTTP)", [
      timeseries("Edge requests/s by route and status", [12, 8], "reqps", [
        query(
          `sum by (method, route, status_code) (rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
          "{{method}} {{route}} {{status_code}}",
        ),
      ]),
      timeseries("Edge 4xx and 5xx ratio", [12, 8], "percentunit", [
        query(
          `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code=~"4.."}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
          "4xx",
        ),
        query(
          `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code=~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
          "5xx",
        ),
      ], { description: "4xx are answers (404, 409 slot full, 422) and not alerted on; a jump still deserves a look.", min: 0 }),
      timeseries("Edge p99 by route", [24, 8], "s", [
        query(
          `histogram_quantile(0.99, sum by (method, route, le) (rate(http_request_duration_seconds_bucket{service="edge",route!~"/healthz|/readyz"}[$__rate_interval])))`,
          "{{method}} {{route}}",
        ),
      ]),
    ]),
    row("Security (edge)", [
      timeseries("Rate-limited requests (429)/s by policy", [8, 8], "reqps", [
        query(`sum by (policy) (rate(rate_limit_rejections_total{service="edge"}[$__rate_interval]))`, "{{policy}}"),
      ], {
        description: "Requests the rate limiter refused, by the policy that refused them: flood (per address, per second), " +
          "anonymous (per address, per minute), account (per account, per minute).",
        mayBeEmpty: "only requests over a rate limit show here.",
        min: 0,
      }),
      timeseries("429 share of edge requests", [8, 8], "percentunit", [
        query(
          `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code="429"}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
          "429",
        ),
      ], {
        description: "RateLimitRejectionsHigh fires above 20% for 10 minutes: abuse held back by the limiter, or limits too tight for real users.",
        mayBeEmpty: "only requests over a rate limit show here.",
        min: 0,
        thresholds: [["green", null], ["orange", 0.2]],
      }),
      timeseries("Rate-limit checks without Redis/s by replica", [8, 8], "ops", [
        query(
          `sum by (instance, reason) (rate(rate_limit_backend_errors_total{service="edge"}[$__rate_interval]))`,
          "{{instance}} {{reason}}",
        ),
      ], {
        description: "Checks a replica decided from its own in-memory counters because Redis failed, timed out or is in " +
          "its cool-down (reason: timeout, error, skipped). Above 0, limits are no longer shared across " +
          "replicas (RateLimiterDegraded).",
        mayBeEmpty: "only rate-limit checks made while Redis was unusable show here.",
        min: 0,
      }),
      timeseries("Auth failures/s by reason, and sign-ins held back", [16, 8], "reqps", [
        query(`sum by (reason) (rate(auth_failures_total{service="edge"}[$__rate_interval]))`, "{{reason}}"),
        query(
          `sum(rate(sign_in_throttled_total{service="edge"}[$__rate_interval]))`,
          "sign-in held back (too many failures for one e-mail)",
        ),
      ], {
        description: "Requests refused for their access token or the lack of one. expired, revoked, missing and malformed " +
          "are ordinary client life; bad_signature, alg_none, unsupported_alg, unknown_kid, wrong_issuer and " +
          "wrong_audience are tokens this edge never signed (AuthFailuresSpike above 6 a minute).",
        min: 0,
      }),
      stat("Admin actions not audited (selected range)", [8, 8], "short", [
        query(`sum(increase(audit_write_failures_total{service="edge"}[$__range]))`, "not audited"),
      ], {
        description: `Admin actions whose audit record could not be written to the edge database. Any is an incident (AuditLogWriteFailing); the edge log line "audit record not written" carries each event.`,
        decimals: 0,
        instant: true,
        thresholds: [["green", null], ["red", 1]],
      }),
    ]),
    row("gRPC services", [
      timeseries("gRPC calls/s by method and code", [12, 8], "reqps", [
        query(
          `sum by (service, grpc_method, grpc_code) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval]))`,
          "{{service}} {{grpc_method}} {{grpc_code}}",
        ),
      ]),
      timeseries("gRPC p99 by method", [12, 8], "s", [
        query(
          `histogram_quantile(0.99, sum by (service, grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
          "{{service}} {{grpc_method}}",
        ),
      ]),
    ]),
    row("Cache (Redis)", [
      timeseries("Cache hit ratio by cache", [8, 8], "percentunit", [
        query(
          `sum by (service, cache) (rate(cache_requests_total{service=~"$service",result="hit"}[$__rate_interval]))
/
sum by (service, cache) (rate(cache_requests_total{service=~"$service"}[$__rate_interval]))`,
          "{{service}}/{{cache}}",
        ),
      ], { description: "Critical below 50% (design 7.3). Errors (Redis down or skipped) count as misses.", min: 0, max: 1, thresholds: [["red", null], ["green", 0.5]] }),
      timeseries("Cache reads/s by result", [8, 8], "reqps", [
        query(
          `sum by (service, cache, result) (rate(cache_requests_total{service=~"$service"}[$__rate_interval]))`,
          "{{service}}/{{cache}} {{result}}",
        ),
      ]),
      timeseries("Invalidations and Redis errors/s", [8, 8], "ops", [
        query(
          `sum by (service, cache) (rate(cache_invalidations_total{service=~"$service"}[$__rate_interval]))`,
          "invalidated {{service}}/{{cache}}",
        ),
        query(
          `sum by (service, cache, op) (rate(cache_errors_total{service=~"$service"}[$__rate_interval]))`,
          "error {{service}}/{{cache}} {{op}}",
        ),
      ]),
      stateTimeline("Redis available (per service)", [24, 5], "short", [
        query(`min by (service) (cache_available{service=~"$service"})`, "{{service}}"),
      ]),
    ]),
    row("Processes", [
      stateTimeline("Scrape targets up", [24, 5], "short", [query(`up{service=~"$service"}`, "{{service}} {{instance}}")]),
      timeseries("CPU (cores)", [8, 8], "short", [
        query(
          `sum by (service, instance) (rate(process_cpu_seconds_total{service=~"$service"}[$__rate_interval]))`,
          "{{service}} {{instance}}",
        ),
      ]),
      timeseries("Resident memory", [8, 8], "bytes", [
        query(`process_resident_memory_bytes{service=~"$service"}`, "{{service}} {{instance}}"),
      ]),
      timeseries("Event-loop lag p99", [8, 8], "s", [
        query(`nodejs_eventloop_lag_p99_seconds{service=~"$service"}`, "{{service}} {{instance}}"),
      ], { thresholds: [["green", null], ["orange", 0.5]] }),
    ]),
  ],
});
