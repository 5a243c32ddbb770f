import { createKafka } from "@clinic/platform/kafka";
import { createLogger } from "@clinic/platform/logging";
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
  /** Extra copies in the topic (delivery is at-least-once; consumers drop them by event id). */
  duplicates: number;
}

/**
 * Every event the shards committed since `since` is in the booking events topic: read the
 * outbox's event ids, then the whole topic from the beginning with a group of its own, counting
 * each `event-id` header.
 */
export async function checkEvents(pools: readonly Pool[], brokers: readonly string[], topic: string, since: Date): Promise<EventCheck> {
  const committed = new Set<string>();
  for (const pool of pools) {
    const { rows } = await pool.query<{ event_id: string }>("SELECT event_id FROM outbox WHERE topic = $1 AND created_at >= $2", [topic, since]);
    for (const r of rows) committed.add(r.event_id);
  }
  const kafka = createKafka({ clientId: "chaos-verify", brokers, logger: createLogger({ service: "chaos", level: "silent" }) });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  for (const [partition, high] of remaining) if (high === 0n) remaining.delete(partition);
  const seen = new Map<string, number>();
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
          if (id) seen.set(id, (seen.get(id) ?? 0) + 1);
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
  for (const id of committed) {
    const n = seen.get(id) ?? 0;
    if (n === 0) missing += 1;
    else duplicates += n - 1;
  }
  return { committed: committed.size, missing, duplicates };
}
