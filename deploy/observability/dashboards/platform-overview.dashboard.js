// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
/** @type {import("./generate").Dashboard} */
module.exports = {
  file: "platform-overview",
  uid: "clinic-overview",
  title: "Clinic / Platform overview",
  description: "RED per service (edge HTTP, gRPC services), edge security (rate limits, token failures, audit log), cache, process health. Errors = HTTP 5xx and the gRPC codes mapped to 5xx, as in alerts.yml.",
  tags: ["clinic", "red"],
  variables: [
    { name: "service", label: "Service", query: "label_values(process_cpu_seconds_total, service)" },
  ],
  rows: [
    {
      title: "Now",
      panels: [
        {
          type: "stat",
          title: "Edge requests/s",
          width: 6,
          height: 4,
          unit: "reqps",
          queries: [
            {
              expr: `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
              legend: "req/s",
            },
          ],
        },
        {
          type: "stat",
          title: "Edge 5xx ratio",
          width: 6,
          height: 4,
          unit: "percentunit",
          mayBeEmpty: "it counts server errors only.",
          thresholds: [["green", null], ["orange", 0.02], ["red", 0.05]],
          queries: [
            {
              expr: `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code=~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
              legend: "5xx",
            },
          ],
        },
        {
          type: "stat",
          title: "Edge p99",
          width: 6,
          height: 4,
          unit: "s",
          thresholds: [["green", null], ["orange", 1], ["red", 2]],
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="edge",route!~"/healthz|/readyz"}[$__rate_interval])))`,
              legend: "p99",
            },
          ],
        },
        {
          type: "stat",
          title: "Firing alerts",
          description: "ALERTS is Prometheus' own series of pending and firing alerts (rules in deploy/observability/prometheus/alerts.yml).",
          width: 6,
          height: 4,
          unit: "short",
          thresholds: [["green", null], ["red", 1]],
          queries: [
            { expr: `count(ALERTS{alertstate="firing"}) or vector(0)`, legend: "firing" },
          ],
        },
      ],
    },
    {
      title: "Rate, errors, duration",
      panels: [
        {
          type: "timeseries",
          title: "Requests/s by service",
          description: "Edge: HTTP requests; others: gRPC calls handled. Health probes excluded.",
          width: 12,
          height: 8,
          unit: "reqps",
          queries: [
            {
              expr: `sum by (service) (rate(http_requests_total{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval]))`,
              legend: "{{service}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Server error ratio by service",
          description: "Warning above 2%, critical above 5% (design 7.3).",
          width: 12,
          height: 8,
          unit: "percentunit",
          mayBeEmpty: "it counts server errors only.",
          min: 0,
          thresholds: [["green", null], ["orange", 0.02], ["red", 0.05]],
          queries: [
            {
              expr: `(sum by (service) (rate(http_requests_total{service=~"$service",route!~"/healthz|/readyz",status_code=~"5.."}[$__rate_interval]))
or
sum by (service) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*",grpc_code=~"UNKNOWN|DEADLINE_EXCEEDED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"}[$__rate_interval])))
/
(sum by (service) (rate(http_requests_total{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
              legend: "{{service}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "p50 latency by service",
          width: 8,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.5, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service, le) (rate(grpc_server_handling_seconds_bucket{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
              legend: "{{service}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "p95 latency by service",
          width: 8,
          height: 8,
          unit: "s",
          thresholds: [["green", null], ["orange", 1]],
          queries: [
            {
              expr: `histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service, le) (rate(grpc_server_handling_seconds_bucket{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
              legend: "{{service}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "p99 latency by service",
          width: 8,
          height: 8,
          unit: "s",
          thresholds: [["green", null], ["red", 2]],
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",route!~"/healthz|/readyz"}[$__rate_interval]))
or
sum by (service, le) (rate(grpc_server_handling_seconds_bucket{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
              legend: "{{service}}",
            },
          ],
        },
      ],
    },
    {
      title: "Edge (HTTP)",
      panels: [
        {
          type: "timeseries",
          title: "Edge requests/s by route and status",
          width: 12,
          height: 8,
          unit: "reqps",
          queries: [
            {
              expr: `sum by (method, route, status_code) (rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
              legend: "{{method}} {{route}} {{status_code}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Edge 4xx and 5xx ratio",
          description: "4xx are answers (404, 409 slot full, 422) and not alerted on; a jump still deserves a look.",
          width: 12,
          height: 8,
          unit: "percentunit",
          min: 0,
          queries: [
            {
              expr: `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code=~"4.."}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
              legend: "4xx",
            },
            {
              expr: `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code=~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
              legend: "5xx",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Edge p99 by route",
          width: 24,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (method, route, le) (rate(http_request_duration_seconds_bucket{service="edge",route!~"/healthz|/readyz"}[$__rate_interval])))`,
              legend: "{{method}} {{route}}",
            },
          ],
        },
      ],
    },
    {
      title: "Security (edge)",
      panels: [
        {
          type: "timeseries",
          title: "Rate-limited requests (429)/s by policy",
          description: "Requests the rate limiter refused, by the policy that refused them: flood (per address, per second), anonymous (per address, per minute), account (per account, per minute).",
          width: 8,
          height: 8,
          unit: "reqps",
          mayBeEmpty: "only requests over a rate limit show here.",
          min: 0,
          queries: [
            {
              expr: `sum by (policy) (rate(rate_limit_rejections_total{service="edge"}[$__rate_interval]))`,
              legend: "{{policy}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "429 share of edge requests",
          description: "RateLimitRejectionsHigh fires above 20% for 10 minutes: abuse held back by the limiter, or limits too tight for real users.",
          width: 8,
          height: 8,
          unit: "percentunit",
          mayBeEmpty: "only requests over a rate limit show here.",
          min: 0,
          thresholds: [["green", null], ["orange", 0.2]],
          queries: [
            {
              expr: `sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz",status_code="429"}[$__rate_interval])) / sum(rate(http_requests_total{service="edge",route!~"/healthz|/readyz"}[$__rate_interval]))`,
              legend: "429",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Rate-limit checks without Redis/s by replica",
          description: "Checks a replica decided from its own in-memory counters because Redis failed, timed out or is in its cool-down (reason: timeout, error, skipped). Above 0, limits are no longer shared across replicas (RateLimiterDegraded).",
          width: 8,
          height: 8,
          unit: "ops",
          mayBeEmpty: "only rate-limit checks made while Redis was unusable show here.",
          min: 0,
          queries: [
            {
              expr: `sum by (instance, reason) (rate(rate_limit_backend_errors_total{service="edge"}[$__rate_interval]))`,
              legend: "{{instance}} {{reason}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Auth failures/s by reason, and sign-ins held back",
          description: "Requests refused for their access token or the lack of one. expired, revoked, missing and malformed are ordinary client life; bad_signature, alg_none, unsupported_alg, unknown_kid, wrong_issuer and wrong_audience are tokens this edge never signed (AuthFailuresSpike above 6 a minute).",
          width: 16,
          height: 8,
          unit: "reqps",
          min: 0,
          queries: [
            {
              expr: `sum by (reason) (rate(auth_failures_total{service="edge"}[$__rate_interval]))`,
              legend: "{{reason}}",
            },
            {
              expr: `sum(rate(sign_in_throttled_total{service="edge"}[$__rate_interval]))`,
              legend: "sign-in held back (too many failures for one e-mail)",
            },
          ],
        },
        {
          type: "stat",
          title: "Admin actions not audited (selected range)",
          description: `Admin actions whose audit record could not be written to the edge database. Any is an incident (AuditLogWriteFailing); the edge log line "audit record not written" carries each event.`,
          width: 8,
          height: 8,
          unit: "short",
          decimals: 0,
          instant: true,
          thresholds: [["green", null], ["red", 1]],
          queries: [
            { expr: `sum(increase(audit_write_failures_total{service="edge"}[$__range]))`, legend: "not audited" },
          ],
        },
      ],
    },
    {
      title: "gRPC services",
      panels: [
        {
          type: "timeseries",
          title: "gRPC calls/s by method and code",
          width: 12,
          height: 8,
          unit: "reqps",
          queries: [
            {
              expr: `sum by (service, grpc_method, grpc_code) (rate(grpc_server_handled_total{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval]))`,
              legend: "{{service}} {{grpc_method}} {{grpc_code}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "gRPC p99 by method",
          width: 12,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (service, grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service=~"$service",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval])))`,
              legend: "{{service}} {{grpc_method}}",
            },
          ],
        },
      ],
    },
    {
      title: "Cache (Redis)",
      panels: [
        {
          type: "timeseries",
          title: "Cache hit ratio by cache",
          description: "Critical below 50% (design 7.3). Errors (Redis down or skipped) count as misses.",
          width: 8,
          height: 8,
          unit: "percentunit",
          min: 0,
          max: 1,
          thresholds: [["red", null], ["green", 0.5]],
          queries: [
            {
              expr: `sum by (service, cache) (rate(cache_requests_total{service=~"$service",result="hit"}[$__rate_interval]))
/
sum by (service, cache) (rate(cache_requests_total{service=~"$service"}[$__rate_interval]))`,
              legend: "{{service}}/{{cache}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Cache reads/s by result",
          width: 8,
          height: 8,
          unit: "reqps",
          queries: [
            {
              expr: `sum by (service, cache, result) (rate(cache_requests_total{service=~"$service"}[$__rate_interval]))`,
              legend: "{{service}}/{{cache}} {{result}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Invalidations and Redis errors/s",
          width: 8,
          height: 8,
          unit: "ops",
          queries: [
            {
              expr: `sum by (service, cache) (rate(cache_invalidations_total{service=~"$service"}[$__rate_interval]))`,
              legend: "invalidated {{service}}/{{cache}}",
            },
            {
              expr: `sum by (service, cache, op) (rate(cache_errors_total{service=~"$service"}[$__rate_interval]))`,
              legend: "error {{service}}/{{cache}} {{op}}",
            },
          ],
        },
        {
          type: "state-timeline",
          title: "Redis available (per service)",
          width: 24,
          height: 5,
          unit: "short",
          queries: [
            { expr: `min by (service) (cache_available{service=~"$service"})`, legend: "{{service}}" },
          ],
        },
      ],
    },
    {
      title: "Processes",
      panels: [
        {
          type: "state-timeline",
          title: "Scrape targets up",
          width: 24,
          height: 5,
          unit: "short",
          queries: [
            { expr: `up{service=~"$service"}`, legend: "{{service}} {{instance}}" },
          ],
        },
        {
          type: "timeseries",
          title: "CPU (cores)",
          width: 8,
          height: 8,
          unit: "short",
          queries: [
            {
              expr: `sum by (service, instance) (rate(process_cpu_seconds_total{service=~"$service"}[$__rate_interval]))`,
              legend: "{{service}} {{instance}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Resident memory",
          width: 8,
          height: 8,
          unit: "bytes",
          queries: [
            { expr: `process_resident_memory_bytes{service=~"$service"}`, legend: "{{service}} {{instance}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Event-loop lag p99",
          width: 8,
          height: 8,
          unit: "s",
          thresholds: [["green", null], ["orange", 0.5]],
          queries: [
            { expr: `nodejs_eventloop_lag_p99_seconds{service=~"$service"}`, legend: "{{service}} {{instance}}" },
          ],
        },
      ],
    },
  ],
};
