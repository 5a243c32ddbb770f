import { useCallback, useEffect, useRef, useState } from "react";
import type { paths } from "./api/generated/schema";
import { availabilityOf } from "./api/queries";
import type { SlotAvailability } from "./api/types";

/** The stream's path, checked against the API's own document: a renamed route breaks the build. */
const STREAM_PATH = "/api/v1/availability/stream" satisfies keyof paths;
/** The edge's default cap of slots per stream (LIVE_MAX_SLOTS_PER_STREAM); an edge with a lower one refuses, and polling takes over. */
const SLOTS_PER_STREAM = 50;
/** How often seats are polled while a stream cannot be had. */
export const SEATS_POLL_MS = 2_000;
/** A refused or broken stream is tried again after this long (polling meanwhile). */
const STREAM_RETRY_MS = 30_000;

export interface LiveSeats {
  seats: Map<string, SlotAvailability>;
  /** Reads the seats at once where no stream is open (after the page's own change); a stream brings changes by itself. */
  refresh(): void;
}

interface Part {
  slotIds: string[];
  source: EventSource | undefined;
  /** Open and delivering: no polling needed. */
  live: boolean;
  retry: number | undefined;
}

/**
 * Seats of the given slots, kept up to date while the page is open: pushed by the edge's
 * availability stream (Server-Sent Events, same origin; EventSource reconnects by itself and
 * resumes with Last-Event-ID), polled from `GET /api/v1/availability` instead while a stream is
 * refused or broken for good, and tried again later. Fifty slots a stream, as the edge allows.
 */
export function useLiveSeats(slotIds: readonly string[]): LiveSeats {
  const key = slotIds.join(",");
  const [seats, setSeats] = useState<Map<string, SlotAvailability>>(new Map());
  const refreshNow = useRef<() => void>(() => undefined);

  useEffect(() => {
    setSeats(new Map());
    if (!key) return undefined;
    let disposed = false;
    const ids = key.split(",");
    const parts: Part[] = [];
    for (let i = 0; i < ids.length; i += SLOTS_PER_STREAM) {
      parts.push({ slotIds: ids.slice(i, i + SLOTS_PER_STREAM), source: undefined, live: false, retry: undefined });
    }
    const change = (update: (next: Map<string, SlotAvailability>) => void) => {
      if (disposed) return;
      setSeats((previous) => {
        const next = new Map(previous);
        update(next);
        return next;
      });
    };
    const partOf = new Map(parts.flatMap((part) => part.slotIds.map((id) => [id, part] as const)));
    const poll = (force = false) => {
      const wanted = parts.filter((p) => !p.live).flatMap((p) => p.slotIds);
      if (wanted.length === 0 || (!force && document.visibilityState !== "visible")) return;
      availabilityOf(wanted).then(
        // A stream that opened meanwhile sent newer seats than this read may have.
        (read) => change((next) => read.forEach((entry, id) => partOf.get(id)?.live || next.set(id, entry))),
        () => undefined,
      );
    };
    const connect = (part: Part) => {
      part.retry = undefined;
      if (typeof EventSource === "undefined") return;
      const source = new EventSource(`${STREAM_PATH}?slotIds=${part.slotIds.join(",")}`);
      part.source = source;
      source.addEventListener("open", () => (part.live = true));
      source.addEventListener("availability", (event) => {
        const entry = JSON.parse((event as MessageEvent<string>).data) as SlotAvailability;
        change((next) => next.set(entry.slotId, entry));
      });
      source.addEventListener("missing", (event) => {
        const { slotId } = JSON.parse((event as MessageEvent<string>).data) as { slotId: string };
        change((next) => next.delete(slotId));
      });
      source.addEventListener("error", () => {
        part.live = false;
        // While CONNECTING the browser retries by itself; CLOSED means refused (a cap, an error
        // answer) or given up: poll, and try the stream again later.
        if (source.readyState !== EventSource.CLOSED || disposed) return;
        part.source = undefined;
        poll(true);
        part.retry = window.setTimeout(() => connect(part), STREAM_RETRY_MS);
      });
    };
    parts.forEach(connect);
    // A stream sends every slot's seats as soon as it opens; one that takes longer than a poll
    // interval to open (or cannot be had at all) is stood in for by reads.
    if (typeof EventSource === "undefined") poll(true);
    const timer = window.setInterval(() => poll(), SEATS_POLL_MS);
    const onVisible = () => poll();
    document.addEventListener("visibilitychange", onVisible);
    refreshNow.current = () => poll(true);
    return () => {
      disposed = true;
      refreshNow.current = () => undefined;
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
      for (const part of parts) {
        part.source?.close();
        window.clearTimeout(part.retry);
      }
    };
  }, [key]);

  const refresh = useCallback(() => refreshNow.current(), []);
  return { seats, refresh };
}
