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
      title: "Backups (pgBackRest)",
      panels: [
        {
          type: "bargauge",
          title: "Age of the last good backup by stanza",
          description: "Since the end of the newest backup that completed without error (any type). BackupStale fires above 2 h (hourly incrementals missed), BackupMissing above 26 h.",
          width: 8,
          height: 8,
          unit: "s",
          thresholds: [["green", null], ["orange", 7200], ["red", 93600]],
          queries: [
            { expr: "time() - max by (stanza) (pgbackrest_last_good_backup_timestamp_seconds)", legend: "{{stanza}}" },
          ],
        },
        {
          type: "timeseries",
          title: "WAL segments archived and failed per minute",
          description: "From each member's pg_stat_archiver; only a primary archives. Failures without archived segments fire WalArchiveFailing: the segments pile up in pg_wal and a restore cannot reach past them.",
          width: 8,
          height: 8,
          unit: "short",
          queries: [
            { expr: "sum by (stanza) (rate(pg_archiver_archived_total[$__rate_interval])) * 60", legend: "archived {{stanza}}" },
            { expr: "sum by (stanza) (rate(pg_archiver_failed_total[$__rate_interval])) * 60", legend: "failed {{stanza}}" },
          ],
        },
        {
          type: "bargauge",
          title: "Stored size of the last backup by stanza",
          description: "What the newest good backup added to the repository (compressed; an incremental one holds only the files changed since the backup before).",
          width: 8,
          height: 8,
          unit: "bytes",
          queries: [
            { expr: "max by (stanza) (pgbackrest_last_backup_size_bytes)", legend: "{{stanza}}" },
          ],
        },
      ],
    },
    {
      title: "Partitions and archival (booking shards)",
      panels: [
        {
          type: "bargauge",
          title: "Monthly partitions ahead by shard",
          description: "Months after the current one whose bookings partition exists. BookingPartitionsNotAhead fires below 3.",
          width: 8,
          height: 8,
          unit: "short",
          thresholds: [["red", null], ["orange", 1], ["green", 3]],
          queries: [
            { expr: "min by (shard) (booking_partition_months_ahead)", legend: "shard {{shard}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Bookings in the default partition by shard",
          description: "Bookings of a month without its partition; the next upkeep round moves them into a new partition. BookingsInDefaultPartition fires above 0.",
          width: 8,
          height: 8,
          unit: "short",
          thresholds: [["green", null], ["red", 1]],
          queries: [
            { expr: "max by (shard) (booking_default_partition_rows)", legend: "shard {{shard}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Since the last upkeep round by shard",
          description: "Age of each shard's last successful partition upkeep and archival round (hourly). BookingMaintenanceFailing fires above 3 h.",
          width: 8,
          height: 8,
          unit: "s",
          thresholds: [["green", null], ["orange", 3600 * 2], ["red", 3600 * 3]],
          queries: [
            { expr: "time() - max by (shard) (booking_maintenance_last_success_timestamp_seconds)", legend: "since upkeep, shard {{shard}}" },
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
