import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Kafka } from "kafkajs";
import type { Logger } from "../logging/logger";
import { waitAtMost } from "../service/wait-at-most";
import { SupervisedConsumer } from "./supervised-consumer";

/** One record as a broadcast listener's handler sees it. */
export interface BroadcastMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface BroadcastListenerOptions {
  kafka: Kafka;
  topics: readonly string[];
  /** Start of the group id; the process adds its host, pid and a random suffix. */
  groupPrefix: string;
  /** Called for every record, in partition order. Should not throw: a record is not delivered twice. */
  handle(message: BroadcastMessage): void | Promise<void>;
  /**
   * Called once the positions of a (re)joined consumer are fixed and its first fetch went out:
   * records before that moment were not seen (the group starts at the latest offset), so whatever
   * was derived from them must be refreshed now.
   */
  caughtUp?(): void;
  /** Whether the listener is a member of its group and fetching, for a gauge or a health check. */
  connectionChanged?(connected: boolean): void;
  logger: Logger;
  /** Longest idle long poll; stopping waits for the fetch in flight. Default 1000. */
  maxWaitTimeInMs?: number;
}

/**
 * A consumer for records every process must see (cache invalidation, live pushes): each process is
 * its own consumer group (`<prefix>-<host>-<pid>-<random>`), starts at the latest offset and
 * commits nothing, because a restarted process holds no state derived from earlier records.
 * Kafka being away never stops the process: the listener retries in the background with capped
 * backoff (SupervisedConsumer). On stop it leaves the group and deletes it, so a fleet that restarts often leaves no
 * empty groups behind for the broker to expire.
 */
export class BroadcastListener {
  readonly groupId: string;
  private readonly supervised: SupervisedConsumer;
  private everJoined = false;
  private positionsPending = false;
  private readonly firstCatchUp: Promise<void>;
  private resolveFirstCatchUp!: () => void;

  constructor(private readonly options: BroadcastListenerOptions) {
    this.groupId = `${options.groupPrefix}-${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
    this.firstCatchUp = new Promise((resolve) => (this.resolveFirstCatchUp = resolve));
    this.supervised = new SupervisedConsumer({
      kafka: options.kafka,
      // After a broker restart the broker loads this group back with the member id of before,
      // and the new member's join waits until that one's session expires: 10 s, not kafkajs's 30 s,
      // of live pushes and cache invalidations missed. A record's handling is short; heartbeats
      // go out every second between fetches.
      config: {
        groupId: this.groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1_000,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        heartbeatInterval: 1_000,
      },
      name: "broadcast listener",
      logger: options.logger,
      begin: async (consumer) => {
        await consumer.subscribe({ topics: [...options.topics], fromBeginning: false });
        if (this.supervised.isStopped) return;
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) =>
            options.handle({ topic, partition, offset: message.offset, key: message.key, value: message.value }),
        });
      },
    });
    const { consumer } = this.supervised;
    const { events } = consumer;
    consumer.on(events.GROUP_JOIN, () => {
      this.everJoined = true;
      this.positionsPending = true;
      options.logger.info({ topics: options.topics, group: this.groupId }, "listening to every record of the topics");
    });
    // FETCH (not FETCH_START) comes after kafkajs resolved the starting offsets: from then on
    // nothing is missed, so that is when derived state is refreshed.
    consumer.on(events.FETCH, () => {
      if (!this.positionsPending) return;
      this.positionsPending = false;
      options.connectionChanged?.(true);
      options.caughtUp?.();
      this.resolveFirstCatchUp();
    });
    consumer.on(events.DISCONNECT, () => options.connectionChanged?.(false));
    consumer.on(events.CRASH, () => options.connectionChanged?.(false));
  }

  /** Starts in the background; start-up never waits for Kafka. */
  start(): void {
    this.supervised.start();
  }

  /** Resolves once the listener first caught up (tests; diagnostics). */
  caughtUp(): Promise<void> {
    return this.firstCatchUp;
  }

  /**
   * Leaves and deletes the group. Neither waits long for a broker that does not answer: there is
   * nothing to commit, and a start still retrying gives up once it sees the stop. A consumer that
   * reached its broker gets `answeringMs` to finish the fetch, join or sync in flight and leave
   * (on a loaded machine that takes more than a second or two, and a consumer left behind keeps
   * talking to Kafka after its owner believes it stopped); one that never reached it gets
   * `unreachableMs`.
   */
  async stop(unreachableMs = 2_000, answeringMs = 8_000): Promise<void> {
    const timeoutMs = this.supervised.hasReachedBroker ? Math.max(unreachableMs, answeringMs) : unreachableMs;
    await this.supervised.stop(timeoutMs);
    if (this.everJoined) await waitAtMost(timeoutMs, this.deleteGroup());
  }

  private async deleteGroup(): Promise<void> {
    // No retries: a broker that is away at shutdown expires the empty group by itself.
    const admin = this.options.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch (err) {
      this.options.logger.debug({ err, group: this.groupId }, "could not delete the broadcast consumer group");
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
