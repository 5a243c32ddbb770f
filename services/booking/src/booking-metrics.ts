import { Counter, Gauge, type Registry } from "prom-client";

export interface BookingMetrics {
  outcomes: Counter<"outcome">;
  sweptExpired: Counter<"shard">;
}

export const WAITLIST_STATES = ["waiting", "offered", "booked", "lapsed", "left", "skipped"] as const;

/**
 * `booking_waitlist_entries{shard,state}`: the waitlists as the shards hold them, read at each
 * scrape (`count` gives one shard's counts by state). A shard that cannot answer keeps no series
 * for that scrape rather than failing the whole page.
 */
export function registerWaitlistGauge(registry: Registry, shards: readonly { index: number; count: () => Promise<Map<string, number>> }[]): void {
  new Gauge({
    name: "booking_waitlist_entries",
    help: "Waitlist entries by shard and what became of them (waiting = the queue's length)",
    labelNames: ["shard", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        shards.map(async ({ index, count }) => {
          const counts = await count().catch(() => undefined);
          if (!counts) return;
          for (const state of WAITLIST_STATES) this.set({ shard: String(index), state }, counts.get(state) ?? 0);
        }),
      );
    },
  });
}

/**
 * Booking funnel counters: held, confirmed, cancelled, expired, rejected (full, duplicate, past),
 * and the booking features' outcomes: rescheduled, reschedule_rejected, reschedule_too_late,
 * cancel_too_late, waitlist_joined, waitlist_left, offer_taken (an offered seat confirmed).
 */
export function createBookingMetrics(registry: Registry): BookingMetrics {
  return {
    outcomes: new Counter({
      name: "booking_outcomes_total",
      help: "Booking requests and transitions by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    sweptExpired: new Counter({
      name: "booking_expired_total",
      help: "PENDING holds expired by the sweeper, by shard",
      labelNames: ["shard"],
      registers: [registry],
    }),
  };
}
