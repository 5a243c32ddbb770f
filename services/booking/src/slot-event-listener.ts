import { BroadcastListener, type Kafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import { eventsV1 } from "@clinic/proto";

export interface SlotEventHandlers {
  /** A slot changed or was deleted: drop what this replica caches about it. */
  slotChanged(slotId: string): Promise<void>;
  /** (Re)joined the topic: events may have been missed meanwhile, so drop everything. */
  resynchronize(): void;
}

/**
 * Every booking replica must see every slot event: a BroadcastListener (each process its own
 * consumer group `booking-cache-<host>-<pid>-<random>`, from the latest offset, committing
 * nothing), since a restarted process has an empty cache and nothing to catch up on. Kafka being
 * away never stops booking: the listener retries in the background, and the directory's TTL
 * bounds what a missed event leaves behind.
 */
export class SlotEventListener {
  private readonly listener: BroadcastListener;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    handlers: SlotEventHandlers,
    private readonly logger: Logger,
  ) {
    this.listener = new BroadcastListener({
      kafka,
      topics: [topic],
      groupPrefix: "booking-cache",
      handle: async ({ value }) => this.handle(value, handlers),
      // (Re)joined and positioned: events before this moment were not seen.
      caughtUp: () => handlers.resynchronize(),
      logger,
    });
  }

  get groupId(): string {
    return this.listener.groupId;
  }

  /** Starts in the background; start-up never waits for Kafka. */
  start(): void {
    this.listener.start();
  }

  /** Resolves once the consumer has joined its group and begun fetching (tests; diagnostics). */
  joined(): Promise<void> {
    return this.listener.caughtUp();
  }

  /** Leaves the group, waiting briefly for a broker that does not answer (BroadcastListener.stop). */
  stop(): Promise<void> {
    return this.listener.stop();
  }

  private async handle(value: Buffer | null, handlers: SlotEventHandlers): Promise<void> {
    if (!value) return;
    let event: eventsV1.SlotEvent;
    try {
      event = eventsV1.SlotEvent.decode(value);
    } catch (err) {
      this.logger.warn({ err, topic: this.topic }, "undecodable slot event skipped");
      return;
    }
    // Created slots were never cached (unknown ids are not remembered).
    const kind = event.payload?.$case;
    if ((kind === "updated" || kind === "deleted") && event.slotId) await handlers.slotChanged(event.slotId.toLowerCase());
  }
}
