// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
/** @type {import("./generate").Dashboard} */
module.exports = {
  file: "databases",
  uid: "clinic-databases",
  title: "Clinic / Databases",
  description: "Per pool (doctor, slot, notifier, booking-shard-N): availability, pool use, query latency, outbox. Replication lag comes from postgres_exporter (not run locally).",
  tags: ["clinic", "postgres"],
  variables: [
    { name: "pool", label: "Pool", query: "label_values(db_up, pool)" },
  ],
  rows: [
    {
      title: "Availability",
      panels: [
        {
          type: "state-timeline",
          title: "db_up by pool (SELECT 1 within 1 s at scrape time)",
          width: 24,
          height: 6,
          unit: "short",
          queries: [
            { expr: `min by (service, pool) (db_up{pool=~"$pool"})`, legend: "{{service}} {{pool}}" },
          ],
        },
      ],
    },
    {
      title: "Connection pools",
      panels: [
        {
          type: "timeseries",
          title: "Pool utilization (used / max)",
          description: "Warning above 80% on a 5-minute average (design 7.3).",
          width: 8,
          height: 8,
          unit: "percentunit",
          min: 0,
          max: 1,
          thresholds: [["green", null], ["orange", 0.8]],
          queries: [
            {
              expr: `max without (state) (db_pool_connections{pool=~"$pool",state="used"}) / db_pool_max_connections{pool=~"$pool"}`,
              legend: "{{service}} {{pool}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Connections used and max",
          width: 8,
          height: 8,
          unit: "short",
          queries: [
            { expr: `sum by (pool) (db_pool_connections{pool=~"$pool",state="used"})`, legend: "used {{pool}}" },
            { expr: `sum by (pool) (db_pool_max_connections{pool=~"$pool"})`, legend: "max {{pool}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Pending acquires",
          description: "Queries waiting for a connection: the pool is too small or queries too slow.",
          width: 8,
          height: 8,
          unit: "short",
          queries: [
            { expr: `sum by (pool) (db_pool_connections{pool=~"$pool",state="pending"})`, legend: "{{pool}}" },
          ],
        },
      ],
    },
    {
      title: "Queries",
      panels: [
        {
          type: "timeseries",
          title: "Query latency p99 by pool",
          width: 8,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (pool, le) (rate(db_query_duration_seconds_bucket{pool=~"$pool"}[$__rate_interval])))`,
              legend: "{{pool}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Query latency p50 / p95 (all selected pools)",
          width: 8,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.5, sum by (le) (rate(db_query_duration_seconds_bucket{pool=~"$pool"}[$__rate_interval])))`,
              legend: "p50",
            },
            {
              expr: `histogram_quantile(0.95, sum by (le) (rate(db_query_duration_seconds_bucket{pool=~"$pool"}[$__rate_interval])))`,
              legend: "p95",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Queries/s by pool and outcome",
          width: 8,
          height: 8,
          unit: "ops",
          queries: [
            {
              expr: `sum by (pool, outcome) (rate(db_query_duration_seconds_count{pool=~"$pool"}[$__rate_interval]))`,
              legend: "{{pool}} {{outcome}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Slow queries/s (> 500 ms) by pool",
          description: "Queries slower than 500 ms (design 7.1 slow query log): the count minus the 0.5 s bucket.",
          width: 24,
          height: 8,
          unit: "ops",
          queries: [
            {
              expr: `sum by (pool) (rate(db_query_duration_seconds_count{pool=~"$pool"}[$__rate_interval])) - sum by (pool) (rate(db_query_duration_seconds_bucket{pool=~"$pool",le="0.5"}[$__rate_interval]))`,
              legend: "{{pool}}",
            },
          ],
        },
      ],
    },
    {
      title: "Outbox per database",
      panels: [
        {
          type: "timeseries",
          title: "Outbox backlog (unpublished events)",
          width: 12,
          height: 8,
          unit: "short",
          queries: [
            { expr: `sum by (outbox) (outbox_backlog{outbox=~"$pool"})`, legend: "{{outbox}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Oldest unpublished event age",
          width: 12,
          height: 8,
          unit: "s",
          thresholds: [["green", null], ["orange", 300], ["red", 900]],
          queries: [
            { expr: `max by (outbox) (outbox_oldest_age_seconds{outbox=~"$pool"})`, legend: "{{outbox}}" },
          ],
        },
      ],
    },
    {
      title: "Replication (postgres_exporter)",
      panels: [
        {
          type: "timeseries",
          title: "Replication lag",
          description: "From postgres_exporter on the Patroni clusters (pg_replication_lag_seconds); empty on the local stack, which has no replicas.",
          width: 24,
          height: 8,
          unit: "s",
          mayBeEmpty: "it comes from postgres_exporter in the cluster; the local stack has no replicas.",
          thresholds: [["green", null], ["orange", 5]],
          queries: [
            { expr: "max by (instance) (pg_replication_lag_seconds)", legend: "{{instance}}" },
          ],
        },
      ],
    },
  ],
};
