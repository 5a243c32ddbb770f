import type { Consumer, Kafka, Logger } from "@clinic/platform";
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
  private readonly consumer: Consumer;

  constructor(
    kafka: Kafka,
    private readonly settings: { topic: string; groupId: string },
    private readonly saga: RescheduleSaga,
    private readonly logger: Logger,
  ) {
    this.consumer = kafka.consumer({ groupId: settings.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
  }

  /** Joins the group; resolves once this replica takes part (its first assignment). */
  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) => this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()));
    await this.consumer.connect();
    // A new group starts at the beginning: a step sent before the first replica joined is kept.
    await this.consumer.subscribe({ topic: this.settings.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: 3,
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        let command: eventsV1.RescheduleCommand;
        try {
          command = eventsV1.RescheduleCommand.decode(message.value);
        } catch (err) {
          // Not a command: retrying cannot help. Logged, committed, left behind.
          this.logger.error({ err, offset: message.offset }, "undecodable reschedule command skipped");
          return;
        }
        try {
          await this.saga.handle(command);
        } catch (err) {
          this.logger.warn({ err, sagaId: command.sagaId, step: command.step?.$case }, "reschedule step failed; it will be retried");
          throw err;
        }
      },
    });
    await joined;
    this.logger.info({ topic: this.settings.topic, group: this.settings.groupId }, "reschedule consumer joined its group");
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
