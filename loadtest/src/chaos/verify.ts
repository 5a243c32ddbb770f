import { readFileSync } from "node:fs";
import { createKafka } from "@clinic/platform/kafka";
import { createLogger } from "@clinic/platform/logging";
import { eventsV1 } from "@clinic/proto";
import type { Pool } from "pg";
import type { Acknowledged } from "./load";

export interface ShardCheck {
  /** Slots with more seats held than they have. */
  overbookedSlots: number;
  /** Slots whose `held` counter differs from their active bookings. */
  heldMismatches: number;
  /** Acknowledged bookings not found (RPO > 0 if any). */
  missing: string[];
  found: number;
  /** (slot, patient) pairs with more than one active booking: an intent booked twice. */
  duplicates: number;
}

/** A booking that holds a seat (as the booking service counts them). */
const active = (b: string) => `(${b}.status = 'CONFIRMED' OR (${b}.status = 'PENDING' AND ${b}.expires_at > now()))`;

/** The database invariants of one shard, read on its primary, and the acknowledged bookings it must hold. */
export async function checkShard(pool: Pool, acknowledged: readonly Acknowledged[]): Promise<ShardCheck> {
  const { rows: inventory } = await pool.query<{ capacity: number; held: number; active: number }>(
    `SELECT i.capacity, i.held,
            (SELECT count(*) FROM bookings b WHERE b.slot_id = i.slot_id AND ${active("b")})::int AS active
       FROM slot_inventory i`,
  );
  const ids = acknowledged.map((a) => a.id);
  const { rows: present } = await pool.query<{ id: string; slot_id: string; patient_id: string }>(
    "SELECT id, slot_id, patient_id FROM bookings WHERE id = ANY($1::uuid[])",
    [ids],
  );
  const byId = new Map(present.map((r) => [r.id, r]));
  const missing = acknowledged.filter((a) => {
    const row = byId.get(a.id);
    return !row || row.slot_id !== a.slotId || row.patient_id !== a.patientId;
  });
  const { rows: dup } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT slot_id, patient_id FROM bookings b WHERE ${active("b")} GROUP BY 1, 2 HAVING count(*) > 1) d`,
  );
  return {
    overbookedSlots: inventory.filter((r) => r.held > r.capacity || r.active > r.capacity).length,
    heldMismatches: inventory.filter((r) => r.held !== r.active).length,
    missing: missing.map((a) => a.id),
    found: acknowledged.length - missing.length,
    duplicates: dup[0]?.n ?? 0,
  };
}

/** Waits until every shard's outbox has reached Kafka (the relay may be catching up after a failover). */
export async function waitForOutbox(pools: readonly Pool[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let backlog = 0;
    for (const pool of pools) {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL");
      backlog += rows[0]?.n ?? 0;
    }
    if (backlog === 0 || Date.now() > deadline) return backlog;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface EventCheck {
  /** Events committed in the outbox since the run began. */
  committed: number;
  /** Of those, how many never reached the topic. */
  missing: number;
  /** Extra copies in the topic (delivery is at least once: a relay crash between send and mark). */
  duplicates: number;
  /** Copies in the topic whose bytes differ from the event the outbox committed (any copy). */
  payloadMismatches: number;
  /** Acknowledged bookings whose booking.created event is not in the outbox or not in Kafka. */
  acknowledgedWithoutEvent: string[];
}

interface CommittedEvent {
  type: string;
  payload: Buffer;
  bookingId: string;
}

/**
 * The events the shards committed since `since`, by event id, with the booking each is about
 * (decoded from the payload, as any consumer reads it).
 */
async function committedEvents(pools: readonly Pool[], topic: string, since: Date): Promise<Map<string, CommittedEvent>> {
  const committed = new Map<string, CommittedEvent>();
  for (const pool of pools) {
    const { rows } = await pool.query<{ event_id: string; event_type: string; payload: Buffer }>(
      "SELECT event_id, event_type, payload FROM outbox WHERE topic = $1 AND created_at >= $2",
      [topic, since],
    );
    for (const r of rows) committed.set(r.event_id, { type: r.event_type, payload: r.payload, bookingId: eventsV1.BookingEvent.decode(r.payload).bookingId });
  }
  return committed;
}

/**
 * Every event the shards committed since `since` is in the booking events topic, and every copy
 * there is the committed event itself: the outbox's events are read, then the whole topic from
 * the beginning with a group of its own, keeping each copy's bytes per `event-id` header. Every
 * acknowledged booking's booking.created must be among them.
 */
export async function checkEvents(
  pools: readonly Pool[],
  brokers: readonly string[],
  topic: string,
  since: Date,
  acknowledged: readonly Acknowledged[],
): Promise<EventCheck & { events: Map<string, CommittedEvent> }> {
  const committed = await committedEvents(pools, topic, since);
  const kafka = createKafka({ clientId: "chaos-verify", brokers, logger: createLogger({ service: "chaos", level: "silent" }) });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  for (const [partition, high] of remaining) if (high === 0n) remaining.delete(partition);
  const seen = new Map<string, Buffer[]>();
  const consumer = kafka.consumer({ groupId: `chaos-verify-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    if (remaining.size === 0) return resolve();
    const timer = setTimeout(() => reject(new Error(`reading ${topic} did not reach its end within 120 s`)), 120_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const id = message.headers?.["event-id"]?.toString();
          if (id && committed.has(id)) seen.set(id, [...(seen.get(id) ?? []), message.value ?? Buffer.alloc(0)]);
          if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  let missing = 0;
  let duplicates = 0;
  let payloadMismatches = 0;
  for (const [id, event] of committed) {
    const copies = seen.get(id) ?? [];
    if (copies.length === 0) missing += 1;
    duplicates += Math.max(0, copies.length - 1);
    payloadMismatches += copies.filter((copy) => !copy.equals(event.payload)).length;
  }
  const createdInKafka = new Set([...committed].filter(([id, e]) => e.type === "booking.created" && seen.has(id)).map(([, e]) => e.bookingId));
  const acknowledgedWithoutEvent = acknowledged.filter((a) => !createdInKafka.has(a.id)).map((a) => a.id);
  return { committed: committed.size, missing, duplicates, payloadMismatches, acknowledgedWithoutEvent, events: committed };
}

export interface NotificationCheck {
  /** booking.confirmed events of acknowledged bookings: each must reach the patient once. */
  expected: number;
  /** Of those, handled by the notifier (sent, or dead-lettered) within the wait. */
  handled: number;
  /** Not handled within the wait. */
  unhandled: string[];
  /** Notifications the mail sink received more than once (one event's effect repeated). */
  deliveredTwice: string[];
  /** Notifications marked sent that the mail sink never received. */
  sentButNotDelivered: string[];
  /** Redeliveries of a handled event that the notifier recognised and skipped. */
  duplicatesSkipped: number;
}

/**
 * The consumers' effect is once per event id, checked on the notifier (the consumer with an
 * outside effect): every booking.confirmed event of an acknowledged booking gets one
 * notification row per channel (its dedupe record), and the local mail sink (scripts/stack's
 * `sinks`, one JSON line per message with the notifier's Message-ID reference) received each
 * sent notification exactly once, however often Kafka delivered the event.
 */
export async function checkNotifications(
  notifier: Pool,
  sinksLog: string,
  events: ReadonlyMap<string, CommittedEvent>,
  acknowledged: readonly Acknowledged[],
  timeoutMs: number,
): Promise<NotificationCheck> {
  const bookings = new Set(acknowledged.map((a) => a.id));
  const expected = [...events].filter(([, e]) => e.type === "booking.confirmed" && bookings.has(e.bookingId)).map(([id]) => id);
  type Row = { id: string; event_id: string; status: string; duplicate_deliveries: number };
  const deadline = Date.now() + timeoutMs;
  const notificationsOf = async (): Promise<Row[]> =>
    (
      await notifier.query<Row>(
        "SELECT id, event_id, status, duplicate_deliveries FROM notifications WHERE channel = 'email' AND event_id = ANY($1::uuid[])",
        [expected],
      )
    ).rows;
  let rows = await notificationsOf();
  while (rows.filter((r) => r.status === "sent" || r.status === "dead_lettered").length < expected.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1_000));
    rows = await notificationsOf();
  }
  const deliveries = new Map<string, number>();
  for (const line of readFileSync(sinksLog, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { channel?: string; reference?: string };
    if (entry.channel === "email" && entry.reference) deliveries.set(entry.reference, (deliveries.get(entry.reference) ?? 0) + 1);
  }
  const handled = rows.filter((r) => r.status === "sent" || r.status === "dead_lettered");
  const handledEvents = new Set(handled.map((r) => r.event_id));
  return {
    expected: expected.length,
    handled: handled.length,
    unhandled: expected.filter((id) => !handledEvents.has(id)),
    deliveredTwice: rows.filter((r) => (deliveries.get(r.id) ?? 0) > 1).map((r) => r.event_id),
    sentButNotDelivered: rows.filter((r) => r.status === "sent" && (deliveries.get(r.id) ?? 0) === 0).map((r) => r.event_id),
    duplicatesSkipped: rows.reduce((n, r) => n + r.duplicate_deliveries, 0),
  };
}
