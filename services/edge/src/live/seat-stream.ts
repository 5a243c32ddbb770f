import type { ServerResponse } from "node:http";
import type { LiveMetrics } from "./live-metrics";
import { encodeResumeToken } from "./resume-token";
import { sameState, slotIdOf, type SlotState } from "./seat-state";

/** Headers of every stream, besides the security and rate-limit headers every answer carries. */
export const STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  // Every client needs its own copy, as it happens: no cache may store or revalidate one.
  "cache-control": "no-cache",
  // nginx (and ingress controllers built on it) would otherwise buffer the stream into silence.
  "x-accel-buffering": "no",
} as const;

const HEARTBEAT = ": ping\n\n";

function frame(id: string, state: SlotState): string {
  if (state.kind === "missing") return `id: ${id}\nevent: missing\ndata: ${JSON.stringify({ slotId: state.slotId })}\n\n`;
  const { slotId, capacity, held, remaining } = state.seats;
  return `id: ${id}\nevent: availability\ndata: ${JSON.stringify({ slotId, capacity, held, remaining })}\n\n`;
}

/**
 * One client's Server-Sent Events stream. It remembers what it sent per slot (which is also what
 * its resume token says) and writes a slot's state only when it differs from that. Memory stays
 * bounded for a client that does not read: once the socket's buffer is full (`write` answers
 * false), updates wait in a map with one entry per slot, each replacing the one before, and go
 * out when the socket drains; a client that stays stuck past the stall timeout is disconnected.
 */
export class SeatStream {
  private readonly waiting = new Map<string, SlotState>();
  private blockedSince: number | undefined;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    /** The client address the per-address cap counts. */
    readonly address: string,
    /** Unique, lower-case, in the order the client listed them (the resume token's order). */
    readonly slotIds: readonly string[],
    private readonly listHash: string,
    /** What the client already has: empty, or what its `Last-Event-ID` says. */
    private readonly sent: Map<string, SlotState>,
    private readonly metrics: LiveMetrics,
  ) {
    // Writes after the client went away fail quietly; 'close' does the cleaning up.
    res.on("error", () => undefined);
    res.on("close", () => {
      this.closed = true;
      this.waiting.clear();
    });
  }

  /** Whether the connection is gone (or being ended). */
  get isClosed(): boolean {
    return this.closed || this.res.writableEnded || this.res.destroyed;
  }

  /** Calls `listener` once when the connection closes, whichever side closed it. */
  onClose(listener: () => void): void {
    if (this.res.closed) queueMicrotask(listener);
    else this.res.once("close", listener);
  }

  /** The reconnection delay for this client; the first thing on the stream. */
  begin(retryMs: number): void {
    this.writeRaw(`retry: ${retryMs}\n\n`);
  }

  /** Tells the client `state` unless it has it already; while the client is not reading, keeps only the latest per slot. */
  offer(state: SlotState): void {
    if (this.isClosed) return;
    const slotId = slotIdOf(state);
    if (this.blockedSince !== undefined) {
      if (this.waiting.has(slotId)) this.metrics.updatesDropped.inc();
      this.waiting.set(slotId, state);
      return;
    }
    this.write(state);
  }

  /**
   * A comment line, so proxies see traffic on a quiet stream. A client that has not read for
   * `stallTimeoutMs` is cut off instead (it can reconnect and resume). Returns false when cut off.
   */
  heartbeat(now: number, stallTimeoutMs: number): boolean {
    if (this.isClosed) return true;
    if (this.blockedSince !== undefined) {
      if (now - this.blockedSince < stallTimeoutMs) return true;
      this.res.destroy();
      return false;
    }
    this.writeRaw(HEARTBEAT);
    return true;
  }

  /** Ends the stream cleanly (shutdown): the client reconnects after its `retry:` delay, elsewhere. */
  end(): void {
    if (!this.isClosed) this.res.end();
  }

  private write(state: SlotState): void {
    const slotId = slotIdOf(state);
    if (sameState(this.sent.get(slotId), state)) return;
    this.sent.set(slotId, state);
    this.metrics.updatesPushed.inc();
    this.writeRaw(frame(encodeResumeToken(this.slotIds, this.listHash, this.sent), state));
  }

  private writeRaw(text: string): void {
    if (this.isClosed) return;
    if (this.res.write(text)) return;
    this.blockedSince ??= Date.now();
    this.res.once("drain", () => this.drain());
  }

  private drain(): void {
    this.blockedSince = undefined;
    for (const [slotId, state] of this.waiting) {
      this.waiting.delete(slotId);
      this.write(state);
      // Full again: the rest waits for the next drain.
      if (this.blockedSince !== undefined) return;
    }
  }
}
