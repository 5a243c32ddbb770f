import type { Consumer, ConsumerConfig, Kafka } from "kafkajs";
import type { Logger } from "../logging/logger";
import { waitAtMost } from "../service/wait-at-most";
import { consumerRetry } from "./kafka";

export interface SupervisedConsumerOptions {
  kafka: Kafka;
  /** kafkajs's consumer settings; the retry settings are the supervisor's own. */
  config: Omit<ConsumerConfig, "retry">;
  /** Subscribes and calls `consumer.run`; called on a connected consumer at every (re)start. */
  begin(consumer: Consumer): Promise<void>;
  /** Names the consumer in logs, e.g. "notifier booking events". */
  name: string;
  logger: Logger;
  /** Longest wait between two start attempts (default 30 s; backoff from 1 s doubles up to it). */
  maxBackoffMs?: number;
}

/**
 * A kafkajs consumer that keeps consuming until its owner stops it. kafkajs restarts a consumer
 * that crashed on a retriable error by itself, but gives up for good on one it classes as not
 * retriable (an illegal generation during a sync, a handler error marked not retriable, ...):
 * the process would run on, healthy in every other way, without consuming again. Here such a
 * crash, and a start that fails (Kafka away at start-up), are retried with capped backoff in the
 * background; a stop cancels the wait and disconnects, and nothing restarts after it.
 */
export class SupervisedConsumer {
  readonly consumer: Consumer;
  private stopped = false;
  /** Connected to a broker at least once (a stop may then wait for a clean leave). */
  private reachedBroker = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: SupervisedConsumerOptions) {
    this.consumer = options.kafka.consumer({ ...options.config, retry: consumerRetry(() => this.stopped) });
    const { events } = this.consumer;
    this.consumer.on(events.CONNECT, () => (this.reachedBroker = true));
    this.consumer.on(events.CRASH, (event) => {
      if (event.payload.restart || this.stopped) return;
      options.logger.warn(
        { err: event.payload.error, group: options.config.groupId },
        `${options.name}: kafkajs gave up on the consumer; starting it again`,
      );
      // After the run in progress (if any): one start at a time.
      this.loop = (this.loop ?? Promise.resolve()).then(() => this.run(true));
    });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Whether a broker ever answered; a stop before that has nothing to leave. */
  get hasReachedBroker(): boolean {
    return this.reachedBroker;
  }

  /** Starts in the background; never waits for Kafka. */
  start(): void {
    this.loop ??= this.run(false);
  }

  /**
   * Stops for good: a backoff wait ends at once, kafkajs finishes the handler in flight, commits
   * and leaves the group. Waits at most `timeoutMs` when given (a broker that does not answer
   * holds a disconnect for the whole connection timeout and retries).
   */
  async stop(timeoutMs?: number): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const done = Promise.all([this.consumer.disconnect().catch(() => undefined), this.loop]);
    if (timeoutMs === undefined) await done;
    else await waitAtMost(timeoutMs, done);
  }

  private async run(restarting: boolean): Promise<void> {
    const { logger, name, config } = this.options;
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        // A crashed or half-started consumer is disconnected first: kafkajs refuses to run a
        // consumer it still believes running.
        if (restarting || attempt > 1) await this.consumer.disconnect().catch(() => undefined);
        await this.consumer.connect();
        // A stop during a step found nothing to disconnect yet: checked after every step.
        if (this.stopped) break;
        await this.options.begin(this.consumer);
        if (this.stopped) break;
        if (attempt > 1 || restarting) logger.info({ group: config.groupId }, `${name}: consumer started again`);
        return;
      } catch (err) {
        if (this.stopped) break;
        if (attempt === 1) logger.warn({ err, group: config.groupId }, `${name}: consumer cannot start; retrying in the background`);
        await this.pause(Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(attempt, 6)));
      }
    }
    // Stopped while starting: what got connected meanwhile goes as well.
    await this.consumer.disconnect().catch(() => undefined);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
