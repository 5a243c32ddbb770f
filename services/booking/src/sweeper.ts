import type { Logger } from "@clinic/platform/logging";
import type { BookingMetrics } from "./booking-metrics";
import type { BookingShardRepository } from "./booking-repository";

/**
 * Background expiry of lapsed PENDING holds, one loop per shard. Each tick drains the shard in
 * batches; a failing shard (say, mid-failover) is logged and retried on the next tick without
 * affecting the others.
 */
export class ExpirySweeper {
  private readonly timers = new Map<BookingShardRepository, NodeJS.Timeout>();
  private running: Promise<void>[] = [];
  private stopped = false;

  constructor(
    private readonly shards: readonly BookingShardRepository[],
    private readonly options: { intervalMs: number; batchSize: number },
    private readonly metrics: BookingMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    for (const shard of this.shards) this.schedule(shard);
  }

  /** Runs one full sweep of every shard now (tests and shutdown use it). */
  async sweepAll(): Promise<number> {
    const counts = await Promise.all(this.shards.map((shard) => this.sweepShard(shard)));
    return counts.reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    await Promise.allSettled(this.running);
  }

  private schedule(shard: BookingShardRepository): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      const run = this.sweepShard(shard)
        .catch((err: unknown) => this.logger.warn({ err, shard: shard.index }, "expiry sweep failed; retrying next tick"))
        .then(() => undefined);
      this.running.push(run);
      void run.finally(() => {
        this.running = this.running.filter((r) => r !== run);
        this.schedule(shard);
      });
    }, this.options.intervalMs);
    timer.unref();
    this.timers.set(shard, timer);
  }

  private async sweepShard(shard: BookingShardRepository): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await shard.sweepExpired(this.options.batchSize);
      total += expired.length;
      if (expired.length > 0) this.metrics.sweptExpired.inc({ shard: String(shard.index) }, expired.length);
      if (expired.length < this.options.batchSize || this.stopped) break;
    }
    if (total > 0) this.logger.info({ shard: shard.index, expired: total }, "expired lapsed holds");
    return total;
  }
}
