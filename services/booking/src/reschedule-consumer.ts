import { SupervisedConsumer, type Kafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import { eventsV1 } from "@clinic/proto";
import type { RescheduleSaga } from "./reschedule-saga";

/**
 * The reschedule sagas' steps (src/reschedule-saga.ts), consumed by the booking replicas as one
 * consumer group: each step is handled by one replica, and its offset committed only once the
 * step's transaction (which also wrote the next step) committed. A failed step is not
 * committed, so it comes again; a replica killed mid-step leaves it to the next owner of the
 * partition. Steps are idempotent, so a step seen twice changes nothing twice.
 */
export class RescheduleConsumer {
  private readonly supervised: SupervisedConsumer;

  constructor(
    kafka: Kafka,
    private readonly settings: { topic: string; groupId: string },
    private readonly saga: RescheduleSaga,
    private readonly logger: Logger,
  ) {
    // A replica that vanished without leaving (killed, or stopped mid-join) holds its partitions,
    // and every rebalance, until its session times out: 10 s instead of kafkajs's 30 s, which a
    // step (one short transaction) never comes near, heartbeats every second to match.
    this.supervised = new SupervisedConsumer({
      kafka,
      config: { groupId: settings.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250, sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 1_000 },
      name: "reschedule step consumer",
      logger,
      begin: async (consumer) => {
        // A new group starts at the beginning: a step sent before the first replica joined is kept.
        await consumer.subscribe({ topic: settings.topic, fromBeginning: true });
        await consumer.run({ autoCommit: true, partitionsConsumedConcurrently: 3, eachMessage: ({ message }) => this.step(message.value, message.offset) });
      },
    });
  }

  /**
   * Joins the group and consumes; resolves once this replica takes part (its first assignment).
   * Kafka away at start-up (or a consumer kafkajs gave up on) is retried in the background with
   * capped backoff until `stop`: steps wait in the topic meanwhile, none is lost.
   */
  async start(): Promise<void> {
    const { consumer } = this.supervised;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    this.supervised.start();
    await joined;
    this.logger.info({ topic: this.settings.topic, group: this.settings.groupId }, "reschedule consumer joined its group");
  }

  private async step(value: Buffer | null, offset: string): Promise<void> {
    if (!value) return;
    let command: eventsV1.RescheduleCommand;
    try {
      command = eventsV1.RescheduleCommand.decode(value);
    } catch (err) {
      // Not a command: retrying cannot help. Logged, committed, left behind.
      this.logger.error({ err, offset }, "undecodable reschedule command skipped");
      return;
    }
    try {
      await this.saga.handle(command);
    } catch (err) {
      this.logger.warn({ err, sagaId: command.sagaId, step: command.step?.$case }, "reschedule step failed; it will be retried");
      throw err;
    }
  }

  stop(): Promise<void> {
    return this.supervised.stop();
  }
}
