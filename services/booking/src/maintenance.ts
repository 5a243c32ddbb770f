import type { Knex } from "@clinic/platform/db";
import type { Logger } from "@clinic/platform/logging";
import { Counter, Gauge, type Registry } from "prom-client";
import { archiveOldBookings } from "./archive";
import { ensureMonthlyPartitions, partitionStatus } from "./partitions";

export interface MaintenanceOptions {
  monthsAhead: number;
  archiveAfterMonths: number;
  intervalMs: number;
}

interface ShardSession {
  index: number;
  /** A direct connection to the shard's primary: DDL and long transactions stay off the pooler. */
  db: Knex;
}

/**
 * The booking shards' scheduled upkeep: monthly partitions kept `monthsAhead` months ahead, old
 * finished bookings moved to the archive, and metrics saying whether it keeps up (each step holds
 * the shard's maintenance lock, so with several booking replicas one does the work per round).
 */
export class ShardMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopping = false;
  private readonly monthsAheadGauge: Gauge<"shard">;
  private readonly defaultRowsGauge: Gauge<"shard">;
  private readonly archived: Counter<"shard">;
  private readonly failures: Counter<"shard">;
  private readonly lastSuccess: Gauge<"shard">;

  constructor(
    private readonly shards: readonly ShardSession[],
    private readonly options: MaintenanceOptions,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    // Every metric here is per shard.
    const perShard = { labelNames: ["shard"] as const, registers: [registry] };
    this.monthsAheadGauge = new Gauge({
      name: "booking_partition_months_ahead",
      help: "Months after the current one whose bookings partition exists, per shard",
      ...perShard,
    });
    this.defaultRowsGauge = new Gauge({
      name: "booking_default_partition_rows",
      help: "Bookings in the default partition (created in a month without its partition), per shard",
      ...perShard,
    });
    this.archived = new Counter({ name: "booking_archived_total", help: "Bookings moved to the archive, per shard", ...perShard });
    this.failures = new Counter({ name: "booking_maintenance_failures_total", help: "Failed partition upkeep or archival rounds, per shard", ...perShard });
    this.lastSuccess = new Gauge({
      name: "booking_maintenance_last_success_timestamp_seconds",
      help: "End of the shard's last successful upkeep round",
      ...perShard,
    });
  }

  /** One round on every shard; a shard's failure is logged and counted, the others go on. */
  async runOnce(now: Date = new Date()): Promise<void> {
    await Promise.all(
      this.shards.map(async ({ index, db }) => {
        const shard = String(index);
        try {
          await ensureMonthlyPartitions(db, this.logger, now, this.options.monthsAhead);
          const { moved } = await archiveOldBookings(db, this.logger, {
            now,
            afterMonths: this.options.archiveAfterMonths,
            stopping: () => this.stopping,
          });
          this.archived.inc({ shard }, moved);
          const status = await partitionStatus(db, now);
          this.monthsAheadGauge.set({ shard }, status.monthsAhead);
          this.defaultRowsGauge.set({ shard }, status.defaultRows);
          this.lastSuccess.set({ shard }, Date.now() / 1000);
        } catch (err) {
          this.failures.inc({ shard });
          this.logger.warn({ err, shard: index }, "booking shard upkeep failed");
        }
      }),
    );
  }

  /** Partitions only, on every shard: what must exist before the first booking. */
  async preparePartitions(now: Date = new Date()): Promise<void> {
    await Promise.all(this.shards.map(({ db }) => ensureMonthlyPartitions(db, this.logger, now, this.options.monthsAhead)));
  }

  /** A first full round now, in the background (archival may take a while), then on schedule. */
  start(): void {
    const round = (): void => {
      // A round still running (a big archival) is not doubled.
      this.round ??= this.runOnce().finally(() => (this.round = undefined));
    };
    round();
    this.timer = setInterval(round, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.round;
  }
}
