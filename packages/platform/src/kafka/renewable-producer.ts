import type { Producer } from "kafkajs";
import type { Logger } from "../logging/logger";

/**
 * Broker answers meaning the idempotent producer's id or sequence numbers no longer match what the
 * broker holds. kafkajs treats them as final and sends on with the same state, so every later send
 * fails the same way: after a send that timed out on the client but was appended by the broker
 * (a broker stalled past the request timeout), kafkajs rolls its sequence back and the next batch
 * is "out of order" for good. Only a new producer id (sequences from 0) gets out of it.
 */
const PRODUCER_STATE_ERRORS = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "DUPLICATE_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
]);

/** Whether `err` (or an error it wraps: kafkajs keeps the broker's answer as `cause`) is one of those. */
export function isProducerStateError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === "string" && PRODUCER_STATE_ERRORS.has(type)) return true;
  }
  return false;
}

/**
 * An idempotent producer shared by several senders that can be swapped for a fresh one when the
 * broker no longer accepts its state. Each sender takes the current producer with its generation
 * and, on a producer-state error, asks to renew that generation: the first asker replaces it,
 * later askers of the same generation change nothing. Connecting happens once per generation (a
 * second `connect` of a kafkajs idempotent producer would ask the broker for another producer id).
 */
export class RenewableProducer {
  private producer: Producer;
  private generation = 0;
  private connection: { generation: number; ready: Promise<void> } | undefined;

  constructor(
    private readonly create: () => Producer,
    private readonly logger: Logger,
  ) {
    this.producer = create();
  }

  /** The current producer, connected, with the generation to name when renewing it. */
  async connected(): Promise<{ producer: Producer; generation: number }> {
    const { producer, generation } = this;
    let connection = this.connection;
    if (connection?.generation !== generation) {
      const ready = producer.connect();
      connection = { generation, ready };
      this.connection = connection;
      // A failed connect is tried again by the next caller.
      ready.catch(() => {
        if (this.connection?.ready === ready) this.connection = undefined;
      });
    }
    await connection.ready;
    return { producer, generation };
  }

  /**
   * Runs `send` with the current producer, connected; a producer-state error renews it before it
   * is rethrown, so the caller's next attempt goes out with a new producer id.
   */
  async use<T>(send: (producer: Producer) => Promise<T>): Promise<T> {
    const { producer, generation } = await this.connected();
    try {
      return await send(producer);
    } catch (err) {
      if (isProducerStateError(err)) this.renew(generation, err);
      throw err;
    }
  }

  /** Replaces generation `generation` with a new producer, unless that happened already. */
  renew(generation: number, reason: unknown): void {
    if (generation !== this.generation) return;
    const old = this.producer;
    this.producer = this.create();
    this.generation += 1;
    this.connection = undefined;
    this.logger.warn({ err: reason, generation: this.generation }, "Kafka refused the producer's id or sequence; continuing with a new producer");
    old.disconnect().catch((err: unknown) => this.logger.debug({ err }, "disconnecting the replaced producer failed"));
  }

  disconnect(): Promise<void> {
    this.connection = undefined;
    return this.producer.disconnect();
  }
}
