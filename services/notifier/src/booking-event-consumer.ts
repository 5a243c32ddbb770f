import { SupervisedConsumer, type Admin, type Consumer, type Kafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import type { Gauge } from "prom-client";
import type { BookingEventHandler } from "./booking-event-handler";

export interface ConsumerSettings {
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  joinTimeoutMs: number;
}

// kafkajs only sends a heartbeat when its interval has passed, so asking often is cheap.
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * The consumer group on the booking events topic. Offsets are committed by kafkajs only for
 * messages whose `eachMessage` resolved, i.e. fully handled (sent, skipped or dead-lettered);
 * an error or a crash leaves the offset where it was, so the message comes again and the
 * handler's deduplication sorts it out.
 */
export class BookingEventConsumer {
  private readonly supervised: SupervisedConsumer;
  private readonly stopping = new AbortController();

  constructor(
    kafka: Kafka,
    private readonly settings: ConsumerSettings,
    private readonly handler: BookingEventHandler,
    private readonly logger: Logger,
  ) {
    this.supervised = new SupervisedConsumer({
      kafka,
      config: {
        groupId: settings.groupId,
        sessionTimeout: settings.sessionTimeoutMs,
        rebalanceTimeout: settings.rebalanceTimeoutMs,
        heartbeatInterval: Math.min(3_000, Math.floor(settings.sessionTimeoutMs / 3)),
        allowAutoTopicCreation: false,
        // Stopping waits for the fetch in flight; an idle long poll of kafkajs's default 5 s would
        // hold every shutdown that long.
        maxWaitTimeInMs: 250,
        // Under load the broker answers a fetch once 16 KiB (some 60 events) are there or the wait
        // is over, not at every single event: fewer, fuller fetches for the broker and the notifier,
        // at most 250 ms later.
        minBytes: 16_384,
      },
      name: "booking events consumer",
      logger,
      begin: (consumer) => this.consume(consumer),
    });
  }

  private async consume(consumer: Consumer): Promise<void> {
    const { settings } = this;
    await consumer.subscribe({ topic: settings.topic, fromBeginning: settings.fromBeginning });
    await consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
      eachMessage: async ({ topic, partition, message, heartbeat }) => {
        // Sends and backoff waits can take seconds; keep the session alive meanwhile.
        const ticker = setInterval(() => {
          heartbeat().catch((err: unknown) => this.logger.debug({ err }, "heartbeat during handling failed (rebalance?)"));
        }, HEARTBEAT_EVERY_MS);
        try {
          await this.handler.handle(
            { topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {} },
            this.stopping.signal,
          );
        } finally {
          clearInterval(ticker);
        }
      },
    });
  }

  /**
   * Starts consuming; resolves once this member has joined the group, rejects when that takes
   * longer than the join timeout (Kafka away at start-up: the start fails loudly instead of a
   * notifier that serves without consuming). After that, a consumer kafkajs gives up on is started
   * again by the supervisor until `stop`.
   */
  async start(): Promise<void> {
    const { consumer } = this.supervised;
    const { settings } = this;
    let stopWaiting = (): void => undefined;
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consumer did not join group ${settings.groupId} within ${settings.joinTimeoutMs} ms`)),
        settings.joinTimeoutMs,
      );
      const removeJoin = consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      stopWaiting = () => {
        clearTimeout(timer);
        removeJoin();
      };
    });
    try {
      this.supervised.start();
      await joined;
    } finally {
      stopWaiting();
    }
    this.logger.info({ topic: settings.topic, group: settings.groupId }, "consumer joined its group");
  }

  /** `true` once (re)joined, `false` when the consumer crashed; for the health status. */
  onMembershipChange(listener: (member: boolean) => void): void {
    const { consumer } = this.supervised;
    consumer.on(consumer.events.GROUP_JOIN, () => listener(true));
    consumer.on(consumer.events.CRASH, (event) => {
      this.logger.error({ err: event.payload.error, restart: event.payload.restart }, "consumer crashed");
      listener(false);
    });
  }

  /**
   * Stops consuming: backoff waits are cut short (their notifications are released for the next
   * owner), in-flight sends finish, offsets of handled messages are committed, the group is left.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.supervised.stop();
  }
}

/**
 * `notifier_consumer_lag{partition}`: the topic's high watermark minus the group's committed
 * offset, polled through the admin API. Polling (rather than the consumer's own batch events)
 * keeps the gauge moving while the consumer is stuck or down, which is when it matters.
 */
export class ConsumerLagPoller {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly settings: { topic: string; groupId: string; fromBeginning: boolean; intervalMs: number },
    private readonly gauge: Gauge<"partition">,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.admin.connect();
    await this.poll();
    this.timer = setInterval(() => {
      this.inFlight ??= this.poll().finally(() => (this.inFlight = undefined));
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  async poll(): Promise<void> {
    const { topic, groupId, fromBeginning } = this.settings;
    try {
      const [watermarks, groupOffsets] = await Promise.all([
        this.admin.fetchTopicOffsets(topic),
        this.admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const committed = new Map<number, number>();
      for (const p of groupOffsets.find((t) => t.topic === topic)?.partitions ?? []) committed.set(p.partition, Number(p.offset));
      for (const p of watermarks) {
        const high = Number(p.high);
        const done = committed.get(p.partition) ?? -1;
        // No commit yet: the group starts at the log start (from beginning) or at the end.
        const position = done >= 0 ? done : fromBeginning ? Number(p.low) : high;
        this.gauge.set({ partition: String(p.partition) }, Math.max(0, high - position));
      }
    } catch (err) {
      this.logger.warn({ err }, "could not read consumer lag");
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.admin.disconnect();
  }
}
