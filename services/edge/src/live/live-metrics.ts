import { Counter, Gauge, type Registry } from "prom-client";

/** What live availability does, on the edge's registry. */
export interface LiveMetrics {
  streams: Gauge;
  watchedSlots: Gauge;
  feedUp: Gauge;
  eventsReceived: Counter<"watched">;
  reads: Counter<"outcome">;
  readsCoalesced: Counter;
  updatesPushed: Counter;
  updatesDropped: Counter;
  streamsRefused: Counter<"reason">;
}

export function createLiveMetrics(registry: Registry): LiveMetrics {
  const registers = [registry];
  const metrics: LiveMetrics = {
    streams: new Gauge({ name: "live_availability_streams", help: "Open availability streams (Server-Sent Events)", registers }),
    watchedSlots: new Gauge({ name: "live_availability_watched_slots", help: "Slots at least one open stream watches", registers }),
    feedUp: new Gauge({
      name: "live_availability_feed_up",
      help: "1 while the replica's consumer of booking and slot events is in its group and fetching",
      registers,
    }),
    eventsReceived: new Counter({
      name: "live_availability_events_received_total",
      help: "Booking and slot events consumed, by whether a stream of this replica watched their slot",
      labelNames: ["watched"],
      registers,
    }),
    reads: new Counter({
      name: "live_availability_reads_total",
      help: "Slots whose seats were read (BookingService.GetAvailability) for streams, by outcome",
      labelNames: ["outcome"],
      registers,
    }),
    readsCoalesced: new Counter({
      name: "live_availability_reads_coalesced_total",
      help: "Requests to read a slot's seats that joined a read already waiting to start",
      registers,
    }),
    updatesPushed: new Counter({ name: "live_availability_updates_pushed_total", help: "Availability messages written to streams", registers }),
    updatesDropped: new Counter({
      name: "live_availability_updates_dropped_total",
      help: "Updates never written because a newer one for the same slot replaced them while the client was not reading",
      registers,
    }),
    streamsRefused: new Counter({
      name: "live_availability_streams_refused_total",
      help: "Streams refused by a cap, by reason: per_address (429) or replica_full (503)",
      labelNames: ["reason"],
      registers,
    }),
  };
  // Series exist from the start, so a rate shows the first increase too.
  for (const watched of ["true", "false"]) metrics.eventsReceived.inc({ watched }, 0);
  for (const outcome of ["ok", "error"]) metrics.reads.inc({ outcome }, 0);
  for (const reason of ["per_address", "replica_full"]) metrics.streamsRefused.inc({ reason }, 0);
  return metrics;
}
