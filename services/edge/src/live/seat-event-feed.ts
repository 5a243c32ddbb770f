import { BroadcastListener, type BroadcastMessage, type Kafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import { eventsV1 } from "@clinic/proto";
import type { LiveAvailability } from "./live-availability";

export interface SeatEventFeedOptions {
  kafka: Kafka;
  bookingEventsTopic: string;
  slotEventsTopic: string;
  live: LiveAvailability;
  logger: Logger;
}

const WARN_INTERVAL_MS = 10_000;

interface SeatChange {
  slotId: string;
  /** Whether the event can have changed the slot's seats. */
  changesSeats: boolean;
}

/**
 * Holds take a seat, cancellations and expiries give one back; a confirmation keeps the seat its
 * hold took, so it alone is skipped. Any other kind, one this build does not know included (it
 * decodes without a payload), is read: a needless read costs little, a missed change leaves
 * streams wrong until the slot's next event.
 */
function bookingEventChange(value: Buffer): SeatChange {
  const event = eventsV1.BookingEvent.decode(value);
  return { slotId: event.slotId.toLowerCase(), changesSeats: event.payload?.$case !== "confirmed" };
}

/** A capacity change, or a deleted slot (its streams are told it is missing); a new slot has no watchers yet. */
function slotEventChange(value: Buffer): SeatChange {
  const event = eventsV1.SlotEvent.decode(value);
  return { slotId: event.slotId.toLowerCase(), changesSeats: event.payload?.$case !== "created" };
}

/**
 * Feeds live availability from Kafka: every booking and slot event, to every replica (a
 * broadcast listener: its own consumer group per process, from the latest offset). Both topics
 * are keyed by slot id, so an event for a slot nobody here watches is dropped by its key without
 * being decoded; slot events carry capacity changes and deletions, which booking events do not.
 */
export class SeatEventFeed {
  private readonly listener: BroadcastListener;
  private lastWarnAt = -Infinity;

  constructor(private readonly options: SeatEventFeedOptions) {
    const { live } = options;
    this.listener = new BroadcastListener({
      kafka: options.kafka,
      topics: [options.bookingEventsTopic, options.slotEventsTopic],
      groupPrefix: "edge-live",
      handle: (message) => this.handle(message),
      caughtUp: () => live.feedCaughtUp(),
      connectionChanged: (connected) => live.feedConnectionChanged(connected),
      logger: options.logger,
    });
  }

  get groupId(): string {
    return this.listener.groupId;
  }

  start(): void {
    this.listener.start();
  }

  /** Resolves once the feed first caught up (tests). */
  caughtUp(): Promise<void> {
    return this.listener.caughtUp();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  private handle({ topic, key, value }: BroadcastMessage): void {
    const { live } = this.options;
    const { metrics } = live;
    const keyedSlot = key?.toString("utf8").toLowerCase();
    if (keyedSlot && !live.isWatched(keyedSlot)) {
      metrics.eventsReceived.inc({ watched: "false" });
      return;
    }
    if (!value) return;
    let change: SeatChange;
    try {
      change = topic === this.options.slotEventsTopic ? slotEventChange(value) : bookingEventChange(value);
    } catch (err) {
      this.warn(err, topic);
      return;
    }
    const watched = live.isWatched(change.slotId);
    metrics.eventsReceived.inc({ watched: String(watched) });
    if (watched && change.changesSeats) live.slotChanged(change.slotId);
  }

  private warn(err: unknown, topic: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = now;
    this.options.logger.warn({ err, topic }, "undecodable event skipped by live availability");
  }
}
