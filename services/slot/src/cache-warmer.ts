import type { Cache, KeyedCache } from "@clinic/platform/cache";
import type { Logger } from "@clinic/platform/logging";
import type { SlotRepository, SlotRow } from "./slot-repository";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface WarmerSettings {
  days: number;
  maxSlots: number;
  batchSize: number;
}

/**
 * Fills `slot:{id}` for the slots starting soon (design section 5.4), in keyset-paged batches
 * after start-up, so readiness never waits for it. A value already in Redis (or a tombstone of
 * a write meanwhile) is left alone. Stops early when Redis stops answering or on shutdown.
 */
export class SlotCacheWarmer {
  private stopped = false;
  private run: Promise<number> | undefined;

  constructor(
    private readonly repo: SlotRepository,
    private readonly cache: Cache,
    private readonly slots: KeyedCache<SlotRow>,
    private readonly settings: WarmerSettings,
    private readonly logger: Logger,
  ) {}

  /** Starts in the background; `done` tells how many slots were read. */
  start(): void {
    this.run ??= this.warm().catch((err: unknown) => {
      this.logger.warn({ err }, "slot cache warming failed");
      return 0;
    });
  }

  get done(): Promise<number> {
    return this.run ?? Promise.resolve(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.run;
  }

  private async warm(): Promise<number> {
    const started = Date.now();
    const from = new Date(started);
    const to = new Date(started + this.settings.days * DAY_MS);
    let after: { startTime: Date; id: string } | undefined;
    let read = 0;
    let stored = 0;
    while (read < this.settings.maxSlots && !this.stopped) {
      if (!this.cache.usable) {
        this.logger.info({ read }, "slot cache warming stopped: Redis is not available");
        return read;
      }
      const rows = await this.repo.upcoming(from, to, Math.min(this.settings.batchSize, this.settings.maxSlots - read), after);
      if (rows.length === 0) break;
      stored += await this.slots.prime(rows.map((row) => [row.id, row] as const));
      read += rows.length;
      const last = rows[rows.length - 1]!;
      after = { startTime: last.start_time, id: last.id };
    }
    this.logger.info({ read, stored, ms: Date.now() - started }, "slot cache warmed");
    return read;
  }
}
