import { Counter, type Registry } from "prom-client";

export interface BookingMetrics {
  outcomes: Counter<"outcome">;
  sweptExpired: Counter<"shard">;
}

/** Booking funnel counters: held, confirmed, cancelled, expired, rejected (full, duplicate, past). */
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
