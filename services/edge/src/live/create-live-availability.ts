import { ANONYMOUS, callerMetadata } from "@clinic/platform/auth";
import type { Logger } from "@clinic/platform/logging";
import type { Registry } from "prom-client";
import type { Backends } from "../backends";
import type { EdgeConfig } from "../config";
import { availabilityJson } from "../schemas/booking";
import { LiveAvailability } from "./live-availability";
import { createLiveMetrics } from "./live-metrics";
import type { ReadSeats } from "./seat-reader";
import type { SlotState } from "./seat-state";

/**
 * Seats through the booking service's GetAvailability, as `GET /api/v1/availability` reads them.
 * Availability is public, so the reads carry no caller's token: they are made for every client
 * of the stream at once, not for one of them.
 */
export function bookingSeatReader(booking: Backends["booking"]): ReadSeats {
  return async (slotIds) => {
    const res = await booking.getAvailability({ slotIds: [...slotIds] }, { metadata: callerMetadata(ANONYMOUS) });
    const states = new Map<string, SlotState>();
    for (const entry of res.availability) states.set(entry.slotId, { kind: "seats", seats: availabilityJson(entry) });
    for (const slotId of res.missingSlotIds) states.set(slotId, { kind: "missing", slotId });
    return states;
  };
}

/** The replica's live availability from its configuration (its event feed is wired by `app.ts`). */
export function createLiveAvailability(config: EdgeConfig, backends: Backends, registry: Registry, logger: Logger): LiveAvailability {
  return new LiveAvailability({
    read: bookingSeatReader(backends.booking),
    maxStreamsPerAddress: config.LIVE_MAX_STREAMS_PER_ADDRESS,
    maxStreams: config.LIVE_MAX_STREAMS,
    heartbeatMs: config.LIVE_HEARTBEAT_MS,
    retryMs: config.LIVE_RETRY_MS,
    stallTimeoutMs: config.LIVE_STALL_TIMEOUT_MS,
    maxReadsInFlight: config.LIVE_MAX_READS_IN_FLIGHT,
    settleReadMs: config.LIVE_SETTLE_READ_MS,
    metrics: createLiveMetrics(registry),
    logger,
  });
}
