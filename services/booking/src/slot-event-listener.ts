import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Consumer, Kafka, Logger } from "@clinic/platform";
import { eventsV1 } from "@clinic/proto";

export interface SlotEventHandlers {
  /** A slot changed or was deleted: drop what this replica caches about it. */
  slotChanged(slotId: string): Promise<void>;
  /** (Re)joined the topic: events may have been missed meanwhile, so drop everything. */
  resynchronize(): void;
}

/**
 * Every booking replica must see every slot event, so each process is its own consumer group
 * (`booking-cache-<host>-<pid>-<random>`), starting at the latest offset and committing nothing:
 * a restarted process has an empty cache and nothing to catch up on. Kafka being away never
 * stops booking: the listener retries in the background, and the directory's TTL bounds what a
 * missed event leaves behind.
 */
export class SlotEventListener {
  readonly groupId = `booking-cache-${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
  private readonly consumer: Consumer;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly firstJoin: Promise<void>;
  private resolveFirstJoin!: () => void;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly handlers: SlotEventHandlers,
    private readonly logger: Logger,
  ) {
    this.firstJoin = new Promise((resolve) => (this.resolveFirstJoin = resolve));
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      // Stopping waits for the fetch in flight; keep idle long polls short.
      maxWaitTimeInMs: 1_000,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.handlers.resynchronize();
      this.logger.info({ topic, group: this.groupId }, "listening to slot events");
    });
    // The first fetch comes after the starting offsets are resolved: from then on, nothing is missed.
    this.consumer.on(this.consumer.events.FETCH_START, () => this.resolveFirstJoin());
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (event.payload.restart || this.stopped) return;
      // kafkajs gave up on this run: start over from the connect.
      this.logger.warn({ err: event.payload.error }, "slot event consumer crashed; restarting");
      this.loop = (this.loop ?? Promise.resolve()).then(async () => {
        await this.consumer.disconnect().catch(() => undefined);
        await this.run();
      });
    });
  }

  /** Starts in the background; start-up never waits for Kafka. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once the consumer has joined its group and begun fetching (tests; diagnostics). */
  joined(): Promise<void> {
    return this.firstJoin;
  }

  /**
   * Leaves the group. A start stuck connecting to an unreachable broker is not waited for beyond
   * `timeoutMs`: there is nothing to commit, and it gives up on its own once it sees the stop.
   */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.consumer.disconnect().catch(() => undefined), this.loop]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.consumer.connect();
        await this.consumer.subscribe({ topic: this.topic, fromBeginning: false });
        await this.consumer.run({ autoCommit: false, eachMessage: async ({ message }) => this.handle(message.value) });
        if (attempt > 1) this.logger.info({ topic: this.topic }, "slot event consumer recovered");
        return;
      } catch (err) {
        if (this.stopped) return;
        if (attempt === 1) this.logger.warn({ err, topic: this.topic }, "slot event consumer cannot start; retrying in the background");
        await this.consumer.disconnect().catch(() => undefined);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  private async handle(value: Buffer | null): Promise<void> {
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
    if ((kind === "updated" || kind === "deleted") && event.slotId) await this.handlers.slotChanged(event.slotId.toLowerCase());
  }
}
