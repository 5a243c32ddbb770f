import { randomUUID } from "node:crypto";
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span } from "@opentelemetry/api";
import { Partitioners } from "kafkajs";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Knex } from "../db/database";
import { createKafka } from "../kafka/kafka";
import { RenewableProducer } from "../kafka/renewable-producer";
import type { Lifecycle } from "../service/lifecycle";
import { waitAtMost } from "../service/wait-at-most";
import type { Logger } from "../logging/logger";

/**
 * The transactional outbox: an event row commits with the state change it describes, and a relay
 * publishes it to Kafka afterwards. Every service database that emits events has this table.
 */
export async function createOutboxTable(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE outbox (
      id bigint GENERATED ALWAYS AS IDENTITY,
      event_id uuid NOT NULL,
      topic text NOT NULL,
      message_key text NOT NULL,
      event_type text NOT NULL,
      payload bytea NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz,
      CONSTRAINT outbox_pkey PRIMARY KEY (id),
      CONSTRAINT outbox_event_id_key UNIQUE (event_id)
    )`);
  // The relay's only query path, and the backlog metric's.
  await knex.raw("CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL");
  await knex.raw("CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL");
}

export async function dropOutboxTable(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE outbox");
}

/** The NOTIFY channel that tells relays new events were committed. */
export const OUTBOX_CHANNEL = "clinic_outbox";

export interface OutboxEvent {
  topic: string;
  /** Kafka message key: events with one key stay in order on one partition. */
  key: string;
  /** e.g. "booking.created"; travels as the `event-type` header. */
  type: string;
  payload: Uint8Array;
  /** Defaults to a new UUID; consumers deduplicate by it. */
  eventId?: string;
  headers?: Record<string, string>;
}

/**
 * The trace of the request that causes an event travels with it (W3C traceparent), so the relay's
 * publish and the consumers' work join that trace although they run later.
 */
export function outboxTraceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** Inserts events inside the caller's transaction, so they commit or roll back with it. */
export async function writeOutbox(trx: Knex | Knex.Transaction, events: readonly OutboxEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const traceHeaders = outboxTraceHeaders();
  const rows = events.map((event) => ({
    event_id: event.eventId ?? randomUUID(),
    topic: event.topic,
    message_key: event.key,
    event_type: event.type,
    payload: Buffer.from(event.payload),
    headers: { ...traceHeaders, ...event.headers },
  }));
  // One round trip: the insert, and the NOTIFY that wakes the relays at commit (PostgreSQL
  // delivers it only then, once per transaction).
  await trx.raw("WITH inserted AS (?) SELECT pg_notify(?, '')", [trx("outbox").insert(rows), OUTBOX_CHANNEL]);
  return rows.map((r) => r.event_id);
}

/** The part of a node-postgres client the listener uses. */
interface PgListener {
  on(event: "notification" | "error" | "end", listener: (...args: unknown[]) => void): unknown;
  query(sql: string): Promise<unknown>;
}

interface OutboxRow {
  id: number;
  event_id: string;
  topic: string;
  message_key: string;
  event_type: string;
  payload: Buffer;
  headers: Record<string, string>;
}

export interface OutboxMetrics {
  published: Counter<"outbox">;
  failures: Counter<"outbox">;
  track(name: string, db: Knex): void;
}

/**
 * `outbox_backlog{outbox}` and `outbox_oldest_age_seconds{outbox}` are read from each database at
 * scrape time (a partial index keeps that cheap), so the backlog is visible even while Kafka is
 * down and no relay makes progress.
 */
export function createOutboxMetrics(registry: Registry): OutboxMetrics {
  const tracked = new Map<string, Knex>();
  const snapshot = async (): Promise<Map<string, { backlog: number; age: number }>> => {
    const result = new Map<string, { backlog: number; age: number }>();
    await Promise.all(
      [...tracked].map(async ([name, db]) => {
        try {
          const { rows } = await db.raw<{ rows: { backlog: number; age: number | null }[] }>(
            `SELECT count(*)::int AS backlog, extract(epoch FROM now() - min(created_at))::float8 AS age
               FROM outbox WHERE published_at IS NULL`,
          );
          result.set(name, { backlog: rows[0]?.backlog ?? 0, age: rows[0]?.age ?? 0 });
        } catch {
          // A database that cannot answer is reported by its own pool and query metrics.
        }
      }),
    );
    return result;
  };
  new Gauge({
    name: "outbox_backlog",
    help: "Outbox events not yet published to Kafka",
    labelNames: ["outbox"],
    registers: [registry],
    async collect() {
      for (const [name, s] of await snapshot()) this.set({ outbox: name }, s.backlog);
    },
  });
  new Gauge({
    name: "outbox_oldest_age_seconds",
    help: "Age of the oldest unpublished outbox event (0 when none)",
    labelNames: ["outbox"],
    registers: [registry],
    async collect() {
      for (const [name, s] of await snapshot()) this.set({ outbox: name }, s.age);
    },
  });
  return {
    published: new Counter({ name: "outbox_published_total", help: "Outbox events published to Kafka", labelNames: ["outbox"], registers: [registry] }),
    failures: new Counter({ name: "outbox_publish_failures_total", help: "Failed outbox relay rounds (Kafka or database errors)", labelNames: ["outbox"], registers: [registry] }),
    track: (name, db) => void tracked.set(name, db),
  };
}

export interface OutboxRelayOptions {
  /** Label for logs and metrics, e.g. "booking-shard-2". */
  name: string;
  db: Knex;
  /**
   * Where the LISTEN connection goes, when `db` is a transaction pooler (PgBouncer): a pooled
   * server connection changes hands after every transaction, so a notification would reach
   * whichever client holds it next. Default: `db`.
   */
  listenDb?: Knex;
  /** Shared by the relays of one process; renewed when the broker refuses its state. */
  producer: RenewableProducer;
  logger: Logger;
  metrics: OutboxMetrics;
  batchSize?: number;
  /** Fallback poll when no notification arrives (default 1 s). */
  idleMs?: number;
  /**
   * Least time between the starts of two rounds (default 200 ms). Every commit that wrote events
   * notifies; under load, rounds spaced this far apart each carry the events of many commits (one
   * Kafka request and one marking UPDATE for all of them) instead of one round per commit. An idle
   * relay starts at once: the spacing only delays a round that follows another closely.
   */
  minRoundGapMs?: number;
  /** Published rows are deleted after this long. */
  retentionHours?: number;
}

const tracer = trace.getTracer("clinic-outbox");

/**
 * Publishes one database's outbox in id order. Only one relay per database works at a time (a
 * transaction-scoped advisory lock), which keeps each key's events in commit order even with
 * several replicas running; the others wait their turn. A crash between the Kafka ack and the
 * commit republishes the batch: delivery is at-least-once, consumers deduplicate by event id.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly idleMs: number;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Set by a notification that arrived while a round was running: run again at once. */
  private woken = false;
  private listener: { end(): Promise<void> } | undefined;
  private lastCleanup = 0;
  private consecutiveFailures = 0;
  private lastRoundAt = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.idleMs = options.idleMs ?? 1_000;
    options.metrics.track(options.name, options.db);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  private notified(): void {
    this.woken = true;
    this.wake?.();
  }

  /**
   * A dedicated connection LISTENs for commits that wrote events, so a relay publishes within
   * milliseconds while polling only every `idleMs` as a fallback (a lost notification, a
   * listener that is reconnecting). Outside the pool: it stays idle for the relay's lifetime.
   */
  private async listen(): Promise<void> {
    if (this.listener) return;
    const client = (this.options.listenDb ?? this.options.db).client as {
      acquireRawConnection(): Promise<PgListener>;
      destroyRawConnection(connection: PgListener): Promise<void>;
    };
    const connection = await client.acquireRawConnection();
    const forget = (): void => {
      this.listener = undefined;
    };
    connection.on("notification", () => this.notified());
    connection.on("error", forget);
    connection.on("end", forget);
    await connection.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.listener = { end: () => client.destroyRawConnection(connection) };
  }

  /**
   * Stops after the current round. A round stuck connecting to an unreachable broker is not
   * waited for beyond `timeoutMs`: it has nothing to commit, and the producer's disconnect (a
   * later shutdown stage) ends it.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await waitAtMost(timeoutMs, this.loop ?? Promise.resolve());
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  /** Publishes up to one batch; resolves to how many events were published. */
  async relayOnce(): Promise<number> {
    const { db, name, metrics, producer } = this.options;
    // Connected before the transaction: no database connection is held while Kafka is away.
    await producer.connected();
    const published = await db.transaction(async (trx) => {
      const { rows: lock } = await trx.raw<{ rows: { locked: boolean }[] }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('outbox-relay')) AS locked",
      );
      if (!lock[0]?.locked) return 0;
      const { rows } = await trx.raw<{ rows: OutboxRow[] }>(
        `SELECT id, event_id, topic, message_key, event_type, payload, headers
           FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?`,
        [this.batchSize],
      );
      if (rows.length === 0) return 0;
      // One producer span per event, child of the request that wrote it; its context replaces
      // the stored traceparent so consumers continue from the publish.
      const spans = new Map<number, Span>();
      const messageOf = (row: OutboxRow) => {
        const parent = propagation.extract(context.active(), row.headers);
        const span = tracer.startSpan(
          `${row.topic} publish`,
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              "messaging.system": "kafka",
              "messaging.destination.name": row.topic,
              "messaging.operation.type": "send",
              "messaging.kafka.message.key": row.message_key,
              "messaging.message.id": row.event_id,
              "clinic.event.type": row.event_type,
            },
          },
          parent,
        );
        spans.set(row.id, span);
        const headers: Record<string, string> = { ...row.headers, "event-id": row.event_id, "event-type": row.event_type };
        propagation.inject(trace.setSpan(parent, span), headers);
        return { key: row.message_key, value: row.payload, headers };
      };
      const byTopic = new Map<string, OutboxRow[]>();
      for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
      try {
        // A batch the broker refuses for the producer's state goes again next round with a new
        // producer (possibly a second copy of events the broker did append: consumers deduplicate).
        await producer.use((kafkaProducer) =>
          kafkaProducer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, topicRows]) => ({ topic, messages: topicRows.map(messageOf) })),
          }),
        );
      } catch (err) {
        for (const span of spans.values()) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
          span.end();
        }
        throw err;
      }
      for (const span of spans.values()) span.end();
      await trx.raw("UPDATE outbox SET published_at = now() WHERE id = ANY(?::bigint[])", [rows.map((r) => r.id)]);
      return rows.length;
    });
    if (published > 0) metrics.published.inc({ outbox: name }, published);
    return published;
  }

  private async run(): Promise<void> {
    const { logger, name, metrics } = this.options;
    while (!this.stopped) {
      let delay = this.idleMs;
      try {
        await this.listen().catch((err: unknown) => logger.debug({ err, outbox: name }, "outbox listener unavailable; polling"));
        const gap = (this.options.minRoundGapMs ?? 200) - (Date.now() - this.lastRoundAt);
        if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
        this.woken = false;
        this.lastRoundAt = Date.now();
        const published = await this.relayOnce();
        await this.cleanup();
        if (this.consecutiveFailures > 0) logger.info({ outbox: name }, "outbox relay recovered");
        this.consecutiveFailures = 0;
        if (published === this.batchSize) delay = 0;
      } catch (err) {
        this.consecutiveFailures += 1;
        metrics.failures.inc({ outbox: name });
        // Exponential back-off to 5 s; one warning per outage, not one per attempt.
        delay = Math.min(5_000, 200 * 2 ** Math.min(this.consecutiveFailures, 5));
        if (this.consecutiveFailures === 1) logger.warn({ err, outbox: name }, "outbox relay failed; retrying");
      }
      if (delay > 0 && !this.stopped && !this.woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  private async cleanup(): Promise<void> {
    const hours = this.options.retentionHours ?? 24;
    if (Date.now() - this.lastCleanup < 60_000) return;
    this.lastCleanup = Date.now();
    await this.options.db.raw(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < now() - make_interval(hours => ?) LIMIT 10000)`,
      [hours],
    );
  }
}

export interface OutboxPublisher {
  relays: OutboxRelay[];
  /** Starts every relay; Kafka is not needed to serve, an outage only grows the backlog. */
  start(): void;
}

/**
 * One idempotent producer (renewed when the broker refuses its state) and one relay per database,
 * registered with the lifecycle: relays stop with the background workers, the producer
 * disconnects with messaging.
 */
export function createOutboxPublisher(options: {
  clientId: string;
  brokers: readonly string[];
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  databases: readonly { name: string; db: Knex; listenDb?: Knex }[];
  batchSize?: number;
  idleMs?: number;
  minRoundGapMs?: number;
  retentionHours?: number;
}): OutboxPublisher {
  const kafka = createKafka({ clientId: options.clientId, brokers: options.brokers, logger: options.logger });
  // One in flight keeps each partition's order through broker-side retries.
  // The default partitioner named explicitly: the same key always lands on the same partition
  // (and it silences kafkajs's start-up notice about its v2 default change).
  const producer = new RenewableProducer(
    () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner }),
    options.logger,
  );
  const metrics = createOutboxMetrics(options.registry);
  const relays = options.databases.map(
    ({ name, db, listenDb }) =>
      new OutboxRelay({
        name,
        db,
        ...(listenDb ? { listenDb } : {}),
        producer,
        logger: options.logger,
        metrics,
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        ...(options.idleMs ? { idleMs: options.idleMs } : {}),
        ...(options.minRoundGapMs !== undefined ? { minRoundGapMs: options.minRoundGapMs } : {}),
        ...(options.retentionHours ? { retentionHours: options.retentionHours } : {}),
      }),
  );
  options.lifecycle.onShutdown("outbox relays", "workers", () => Promise.all(relays.map((relay) => relay.stop())));
  options.lifecycle.onShutdown("kafka producer", "messaging", () => producer.disconnect());
  return { relays, start: () => relays.forEach((relay) => relay.start()) };
}
