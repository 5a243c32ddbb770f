// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
const { dashboard, labelFilter, query, row, timeseries, bargauge, stateTimeline } = require("./panels");

module.exports = dashboard("databases", "clinic-databases", "Clinic / Databases", ["clinic", "postgres"], {
  description: "Per pool (doctor, slot, notifier, booking-shard-N): availability, pool use, query latency, outbox. Replication lag comes from postgres_exporter (not run locally).",
  variables: [labelFilter("pool", "Pool", "label_values(db_up, pool)")],
  rows: [
    row("Availability", [
      stateTimeline("db_up by pool (SELECT 1 within 1 s at scrape time)", [24, 6], "short", [query(`min by (service, pool) (db_up{pool=~"$pool"})`, "{{service}} {{pool}}")]),
    ]),
    row("Connection pools", [
      timeseries("Pool utilization (used / max)", [8, 8], "percentunit", [
        query(
          `max without (state) (db_pool_connections{pool=~"$pool",state="used"}) / db_pool_max_connections{pool=~"$pool"}`,
          "{{service}} {{pool}}",
        ),
      ], { description: "Warning above 80% on a 5-minute average (design 7.3).", min: 0, max: 1, thresholds: [["green", null], ["orange", 0.8]] }),
      timeseries("Connections used and max", [8, 8], "short", [
        query(`sum by (pool) (db_pool_connections{pool=~"$pool",state="used"})`, "used {{pool}}"),
        query(`sum by (pool) (db_pool_max_connections{pool=~"$pool"})`, "max {{pool}}"),
      ]),
      timeseries("Pending acquires", [8, 8], "short", [
        query(`sum by (pool) (db_pool_connections{pool=~"$pool",state="pending"})`, "{{pool}}"),
      ], { description: "Queries waiting for a connection: the pool is too small or queries too slow." }),
    ]),
    row("Queries", [
      timeseries("Query latency p99 by pool", [8, 8], "s", [
        query(
          `histogram_quantile(0.99, sum by (pool, le) (rate(db_query_duration_seconds_bucket{pool=~"$pool"}[$__rate_interval])))`,
          "{{pool}}",
        ),
      ]),
      timeseries("Query latency p50 / p95 (all selected pools)", [8, 8], "s", [
        query(`histogram_quantile(0.5, sum by (le) (rate(db_query_duration_seconds_bucket{pool=~"$pool"}[$__rate_interval])))`, "p50"),
        query(`histogram_quantile(0.95, sum by (le) (rate(db_query_duration_seconds_bucket{pool=~"$pool"}[$__rate_interval])))`, "p95"),
      ]),
      timeseries("Queries/s by pool and outcome", [8, 8], "ops", [
        query(`sum by (pool, outcome) (rate(db_query_duration_seconds_count{pool=~"$pool"}[$__rate_interval]))`, "{{pool}} {{outcome}}"),
      ]),
      timeseries("Slow queries/s (> 500 ms) by pool", [24, 8], "ops", [
        query(
          `sum by (pool) (rate(db_query_duration_seconds_count{pool=~"$pool"}[$__rate_interval])) - sum by (pool) (rate(db_query_duration_seconds_bucket{pool=~"$pool",le="0.5"}[$__rate_interval]))`,
          "{{pool}}",
        ),
      ], { description: "Queries slower than 500 ms (design 7.1 slow query log): the count minus the 0.5 s bucket." }),
    ]),
    row("Outbox per database", [
      timeseries("Outbox backlog (unpublished events)", [12, 8], "short", [
        query(`sum by (outbox) (outbox_backlog{outbox=~"$pool"})`, "{{outbox}}"),
      ]),
      timeseries("Oldest unpublished event age", [12, 8], "s", [
        query(`max by (outbox) (outbox_oldest_age_seconds{outbox=~"$pool"})`, "{{outbox}}"),
      ], { thresholds: [["green", null], ["orange", 300], ["red", 900]] }),
    ]),
    row("Backups (pgBackRest)", [
      bargauge("Age of the last good backup by stanza", [8, 8], "s", [
        query(`time() - max by (stanza) (pgbackrest_last_good_backup_timestamp_seconds)`, "{{stanza}}"),
      ], {
        description: "Since the end of the newest backup that completed without error (any type). BackupStale fires above " +
          "2 h (hourly incrementals missed), BackupMissing above 26 h.",
        thresholds: [["green", null], ["orange", 7200], ["red", 93600]],
      }),
      timeseries("WAL segments archived and failed per minute", [8, 8], "short", [
        query(`sum by (stanza) (rate(pg_archiver_archived_total[$__rate_interval])) * 60`, "archived {{stanza}}"),
        query(`sum by (stanza) (rate(pg_archiver_failed_total[$__rate_interval])) * 60`, "failed {{stanza}}"),
      ], {
        description: "From each member's pg_stat_archiver; only a primary archives. Failures without archived segments " +
          "fire WalArchiveFailing: the segments pile up in pg_wal and a restore cannot reach past them.",
      }),
      bargauge("Stored size of the last backup by stanza", [8, 8], "bytes", [
        query(`max by (stanza) (pgbackrest_last_backup_size_bytes)`, "{{stanza}}"),
      ], {
        description: "What the newest good backup added to the repository (compressed; an incremental one holds only the " +
          "files changed since the backup before).",
      }),
    ]),
    row("Partitions and archival (booking shards)", [
      bargauge("Monthly partitions ahead by shard", [8, 8], "short", [
        query(`min by (shard) (booking_partition_months_ahead)`, "shard {{shard}}"),
      ], {
        description: "Months after the current one whose bookings partition exists. BookingPartitionsNotAhead fires below 3.",
        thresholds: [["red", null], ["orange", 1], ["green", 3]],
      }),
      timeseries("Bookings in the default partition by shard", [8, 8], "short", [
        query(`max by (shard) (booking_default_partition_rows)`, "shard {{shard}}"),
      ], {
        description: "Bookings of a month without its partition; the next upkeep round moves them into a new partition. " +
          "BookingsInDefaultPartition fires above 0.",
        thresholds: [["green", null], ["red", 1]],
      }),
      timeseries("Since the last upkeep round by shard", [8, 8], "s", [
        query(`time() - max by (shard) (booking_maintenance_last_success_timestamp_seconds)`, "since upkeep, shard {{shard}}"),
      ], {
        description: "Age of each shard's last successful partition upkeep and archival round (hourly). BookingMaintenanceFailing fires above 3 h.",
        thresholds: [["green", null], ["orange", 7200], ["red", 10800]],
      }),
    ]),
    row("Replication (postgres_exporter)", [
      timeseries("Replication lag", [24, 8], "s", [query(`max by (instance) (pg_replication_lag_seconds)`, "{{instance}}")], {
        description: "From postgres_exporter on the Patroni clusters (pg_replication_lag_seconds); empty on the local stack, which has no replicas.",
        mayBeEmpty: "it comes from postgres_exporter in the cluster; the local stack has no replicas.",
        thresholds: [["green", null], ["orange", 5]],
      }),
    ]),
  ],
});
