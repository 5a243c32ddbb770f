import type { Logger } from "@clinic/platform/logging";
import type { LiveMetrics } from "./live-metrics";
import type { SlotState } from "./seat-state";

/** Reads the current state of slots; every id asked for is in the answer. */
export type ReadSeats = (slotIds: readonly string[]) => Promise<Map<string, SlotState>>;

/** Why a read is wanted: an event may have changed the seats, a stream needs them, or the feed may have missed events. */
export type ReadCause = "event" | "subscribe" | "resync";

export interface SeatReaderOptions {
  read: ReadSeats;
  /** Every successful read's result. */
  deliver(state: SlotState): void;
  /** Reads of slots nobody watches any more are not started. */
  isWatched(slotId: string): boolean;
  /** Ids per GetAvailability call (the booking service takes 100). */
  maxBatch: number;
  /** Calls in flight at once; further slots wait, which is where bursts coalesce. */
  maxInFlight: number;
  /** See the class comment; 0 turns the settle read off. */
  settleMs: number;
  /** First and longest wait before a failed read is tried again. */
  retryBaseMs: number;
  retryMaxMs: number;
  metrics: LiveMetrics;
  logger: Logger;
}

const WARN_INTERVAL_MS = 10_000;

/**
 * Reads slots' seats from the booking service for live streams, coalescing: a slot has at most one
 * read in flight and at most one waiting; a request while one waits joins it, a request while one
 * is in flight makes one more run after it. So a burst of any number of events for a slot costs a
 * handful of reads, and the last read of a slot always starts after its last event. Waiting slots
 * are read together (one call for up to `maxBatch` slots), at most `maxInFlight` calls at a time.
 *
 * The settle read: the booking service answers GetAvailability from a Redis copy that it drops
 * after each seat change commits, and the change's event can (rarely) arrive here before the drop,
 * so a read at that moment sees the old seats. `settleMs` after the last event-driven read of a
 * slot, it is read once more; when nothing changed, nobody is told anything.
 *
 * A failed read is retried with exponential backoff while its slot is watched; events meanwhile
 * join the pending retry.
 */
export class SeatReader {
  private readonly waiting = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly settleWanted = new Set<string>();
  private readonly settleTimers = new Map<string, NodeJS.Timeout>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private calls = 0;
  private scheduled = false;
  private stopped = false;
  private lastWarnAt = -Infinity;

  constructor(private readonly options: SeatReaderOptions) {}

  request(slotId: string, cause: ReadCause): void {
    if (this.stopped) return;
    if (cause === "event" && this.options.settleMs > 0) {
      this.settleWanted.add(slotId);
      // The read this request leads to arms it again.
      this.clearTimer(this.settleTimers, slotId);
    }
    if (this.waiting.has(slotId) || this.retryTimers.has(slotId)) {
      this.options.metrics.readsCoalesced.inc();
      return;
    }
    this.waiting.add(slotId);
    this.schedule();
  }

  /** The slot is no longer watched: nothing more is read for it. */
  forget(slotId: string): void {
    this.waiting.delete(slotId);
    this.settleWanted.delete(slotId);
    this.failures.delete(slotId);
    this.clearTimer(this.settleTimers, slotId);
    this.clearTimer(this.retryTimers, slotId);
  }

  /** Reads in flight still finish (their results are delivered); nothing new starts. */
  stop(): void {
    this.stopped = true;
    this.waiting.clear();
    for (const timer of [...this.settleTimers.values(), ...this.retryTimers.values()]) clearTimeout(timer);
    this.settleTimers.clear();
    this.retryTimers.clear();
  }

  /** Slots waiting or in flight (tests). */
  get busy(): number {
    return this.waiting.size + this.inFlight.size + this.retryTimers.size + this.settleTimers.size;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // After the current batch of events: everything they asked for goes out together.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const { maxBatch, maxInFlight, isWatched } = this.options;
    while (!this.stopped && this.calls < maxInFlight) {
      const batch: string[] = [];
      for (const slotId of this.waiting) {
        if (batch.length >= maxBatch) break;
        if (!isWatched(slotId)) {
          this.waiting.delete(slotId);
          continue;
        }
        // Its trailing read starts once the one in flight is done.
        if (this.inFlight.has(slotId)) continue;
        batch.push(slotId);
      }
      if (batch.length === 0) return;
      for (const slotId of batch) {
        this.waiting.delete(slotId);
        this.inFlight.add(slotId);
      }
      this.calls++;
      void this.readBatch(batch);
    }
  }

  private async readBatch(slotIds: string[]): Promise<void> {
    const { metrics } = this.options;
    try {
      const states = await this.options.read(slotIds);
      metrics.reads.inc({ outcome: "ok" }, slotIds.length);
      for (const slotId of slotIds) {
        this.inFlight.delete(slotId);
        this.failures.delete(slotId);
        const state = states.get(slotId);
        if (state) this.options.deliver(state);
        this.afterRead(slotId);
      }
    } catch (err) {
      metrics.reads.inc({ outcome: "error" }, slotIds.length);
      this.warn(err, slotIds.length);
      for (const slotId of slotIds) {
        this.inFlight.delete(slotId);
        this.retryLater(slotId);
      }
    } finally {
      this.calls--;
      this.schedule();
    }
  }

  private afterRead(slotId: string): void {
    if (this.stopped || this.waiting.has(slotId) || !this.settleWanted.has(slotId)) return;
    this.settleWanted.delete(slotId);
    this.settleTimers.set(
      slotId,
      setTimeout(() => {
        this.settleTimers.delete(slotId);
        this.request(slotId, "resync");
      }, this.options.settleMs).unref(),
    );
  }

  private retryLater(slotId: string): void {
    if (this.stopped || !this.options.isWatched(slotId)) return;
    // A request that came in while this read was in flight waits for the retry instead.
    this.waiting.delete(slotId);
    const failures = (this.failures.get(slotId) ?? 0) + 1;
    this.failures.set(slotId, failures);
    const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(failures - 1, 10));
    this.clearTimer(this.retryTimers, slotId);
    this.retryTimers.set(
      slotId,
      setTimeout(() => {
        this.retryTimers.delete(slotId);
        this.request(slotId, "resync");
      }, delay).unref(),
    );
  }

  private clearTimer(timers: Map<string, NodeJS.Timeout>, slotId: string): void {
    const timer = timers.get(slotId);
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(slotId);
  }

  private warn(err: unknown, slots: number): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = now;
    this.options.logger.warn({ err, slots }, "reading seats for live streams failed; retrying with backoff");
  }
}
