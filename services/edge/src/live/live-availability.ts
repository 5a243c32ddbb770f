import type { ServerResponse } from "node:http";
import type { Logger } from "@clinic/platform/logging";
import { ApiError } from "../errors";
import type { LiveMetrics } from "./live-metrics";
import { decodeResumeToken, listHash } from "./resume-token";
import { SeatReader, type ReadSeats } from "./seat-reader";
import type { SlotState } from "./seat-state";
import { SeatStream } from "./seat-stream";

export interface LiveAvailabilityOptions {
  read: ReadSeats;
  maxStreamsPerAddress: number;
  maxStreams: number;
  heartbeatMs: number;
  retryMs: number;
  stallTimeoutMs: number;
  maxReadsInFlight: number;
  settleReadMs: number;
  metrics: LiveMetrics;
  logger: Logger;
}

export interface OpenStream {
  address: string;
  /** Unique and lower-case, in the client's order. */
  slotIds: readonly string[];
  /** The client's `Last-Event-ID`, when it reconnects. */
  lastEventId: string | undefined;
  /** Called once every cap has admitted the stream: takes the response over and writes its head. */
  start(): ServerResponse;
}

/** A cap refused a stream; the client may try again after `retryAfterSeconds` (the `Retry-After` header). */
export class StreamRefused extends ApiError {
  constructor(statusCode: number, code: string, message: string, readonly retryAfterSeconds: number) {
    super(statusCode, code, message);
  }
}

/** Sizes of what the replica holds for live streams (tests; diagnostics). */
export interface LiveAvailabilityStats {
  streams: number;
  watchedSlots: number;
  knownSlots: number;
  addresses: number;
  readsPending: number;
}

/**
 * The replica's live availability: which open stream watches which slot, the last state read of
 * every watched slot, and the caps. Events for slots nobody here watches are dropped at a map
 * lookup; an event for a watched slot asks the reader for its seats, and each read's result goes to
 * the slot's streams (each writes only what its client does not have yet). A slot's entry lives
 * exactly as long as some stream watches it, so memory follows open streams, not traffic.
 */
export class LiveAvailability {
  private readonly watchers = new Map<string, Set<SeatStream>>();
  private readonly known = new Map<string, SlotState>();
  private readonly perAddress = new Map<string, number>();
  private readonly streams = new Set<SeatStream>();
  private readonly reader: SeatReader;
  private readonly heartbeat: NodeJS.Timeout;
  private feedLive = false;
  private closed = false;

  constructor(private readonly options: LiveAvailabilityOptions) {
    this.reader = new SeatReader({
      read: options.read,
      deliver: (state) => this.deliver(state),
      isWatched: (slotId) => this.watchers.has(slotId),
      maxBatch: 100,
      maxInFlight: options.maxReadsInFlight,
      settleMs: options.settleReadMs,
      retryBaseMs: 500,
      retryMaxMs: 30_000,
      metrics: options.metrics,
      logger: options.logger,
    });
    // One timer for every stream of the replica, not one per stream.
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      for (const stream of this.streams) {
        if (!stream.heartbeat(now, options.stallTimeoutMs)) options.logger.debug("a stream whose client stopped reading was cut off");
      }
    }, options.heartbeatMs).unref();
  }

  get metrics(): LiveMetrics {
    return this.options.metrics;
  }

  /** Whether some stream of this replica watches the slot: the cheap test every event goes through first. */
  isWatched(slotId: string): boolean {
    return this.watchers.has(slotId);
  }

  /**
   * Admits a stream (or throws the refusal as an ApiError, before anything was written), sends
   * what its client does not have yet, and keeps it up to date until it closes.
   */
  open(request: OpenStream): SeatStream {
    const { address, slotIds } = request;
    const { metrics } = this.options;
    if (this.closed) throw new ApiError(503, "SHUTTING_DOWN", "the server is shutting down; retry");
    if ((this.perAddress.get(address) ?? 0) >= this.options.maxStreamsPerAddress) {
      metrics.streamsRefused.inc({ reason: "per_address" });
      // A client's streams that died without a goodbye are noticed at a heartbeat at the soonest.
      throw new StreamRefused(
        429,
        "RATE_LIMITED",
        `at most ${this.options.maxStreamsPerAddress} open availability streams per client address; close one first`,
        Math.ceil(this.options.heartbeatMs / 1000),
      );
    }
    if (this.streams.size >= this.options.maxStreams) {
      metrics.streamsRefused.inc({ reason: "replica_full" });
      throw new StreamRefused(503, "TOO_MANY_STREAMS", "this server holds as many availability streams as it may; retry", Math.ceil(this.options.retryMs / 1000));
    }

    const hash = listHash(slotIds);
    const stream = new SeatStream(request.start(), address, slotIds, hash, decodeResumeToken(request.lastEventId, slotIds, hash), metrics);
    this.streams.add(stream);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    for (const slotId of slotIds) {
      let watching = this.watchers.get(slotId);
      if (!watching) this.watchers.set(slotId, (watching = new Set()));
      watching.add(stream);
    }
    stream.onClose(() => this.release(stream));
    metrics.streams.set(this.streams.size);
    metrics.watchedSlots.set(this.watchers.size);

    // Spread the reconnections of many clients (after a restart of this replica, say) over time.
    stream.begin(Math.floor(this.options.retryMs * (1 + Math.random())));
    for (const slotId of slotIds) {
      const state = this.known.get(slotId);
      if (state) stream.offer(state);
      // Unknown here yet, or possibly stale while the event feed is down: read it.
      if (!state || !this.feedLive) this.reader.request(slotId, "subscribe");
    }
    return stream;
  }

  /** An event that may have changed the slot's seats. */
  slotChanged(slotId: string): void {
    if (this.watchers.has(slotId)) this.reader.request(slotId, "event");
  }

  /** The event feed (re)joined and is positioned: anything before may have been missed, so read every watched slot. */
  feedCaughtUp(): void {
    this.feedLive = true;
    for (const slotId of this.watchers.keys()) this.reader.request(slotId, "resync");
  }

  feedConnectionChanged(connected: boolean): void {
    if (!connected) this.feedLive = false;
    this.options.metrics.feedUp.set(connected ? 1 : 0);
  }

  /** Ends every stream (clients reconnect elsewhere after their `retry:` delay) and stops reading. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.reader.stop();
    for (const stream of this.streams) stream.end();
  }

  stats(): LiveAvailabilityStats {
    return {
      streams: this.streams.size,
      watchedSlots: this.watchers.size,
      knownSlots: this.known.size,
      addresses: this.perAddress.size,
      readsPending: this.reader.busy,
    };
  }

  private deliver(state: SlotState): void {
    const slotId = state.kind === "seats" ? state.seats.slotId : state.slotId;
    const watching = this.watchers.get(slotId);
    // Nobody watches it any more: a read that finished after its last stream closed.
    if (!watching) return;
    this.known.set(slotId, state);
    for (const stream of watching) stream.offer(state);
  }

  private release(stream: SeatStream): void {
    if (!this.streams.delete(stream)) return;
    const left = (this.perAddress.get(stream.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(stream.address, left);
    else this.perAddress.delete(stream.address);
    for (const slotId of stream.slotIds) {
      const watching = this.watchers.get(slotId);
      if (!watching) continue;
      watching.delete(stream);
      if (watching.size > 0) continue;
      this.watchers.delete(slotId);
      this.known.delete(slotId);
      this.reader.forget(slotId);
    }
    this.options.metrics.streams.set(this.streams.size);
    this.options.metrics.watchedSlots.set(this.watchers.size);
  }
}
