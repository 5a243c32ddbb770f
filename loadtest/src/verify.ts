import type { Pool } from "pg";
import { chunks } from "./databases";
import { BASELINE_SCHEMA } from "./modes/baseline";
import type { SlotRef } from "./modes/target";
import type { HotSlotResult } from "./scenarios/common";
import type { AcknowledgedBooking } from "./stats";

export interface Verification {
  /** False when a violation was found. */
  ok: boolean;
  /** What was checked, for the report ("412 slots, 20,118 acknowledged bookings"). */
  checked: string;
  violations: string[];
  /** Odd but not wrong: a booking that committed after its client gave up, a burst cut short. */
  warnings: string[];
  /** Bookings (rows) on the run's slots by stored status. */
  rowsByStatus: Record<string, number>;
}

const MAX_LISTED = 20;

function collector() {
  const violations: string[] = [];
  const warnings: string[] = [];
  let violationCount = 0;
  return {
    violations,
    warnings,
    violation(message: string) {
      violationCount += 1;
      if (violations.length < MAX_LISTED) violations.push(message);
      else if (violations.length === MAX_LISTED) violations.push("(more violations not listed)");
    },
    warning(message: string) {
      if (warnings.length < MAX_LISTED) warnings.push(message);
    },
    get count() {
      return violationCount;
    },
  };
}

interface InventoryAudit {
  slot_id: string;
  capacity: number;
  held: number;
  active: number;
  pending_lapsed: number;
}

/**
 * The booking shards after a run: for every slot of the run, seats held never above capacity,
 * the `held` counter equal to the bookings holding a seat (live PENDING + CONFIRMED) plus lapsed
 * PENDING holds the sweeper has not expired yet (as `BookingShardRepository.audit()` allows),
 * no patient holding two seats in one slot, and every booking the API acknowledged is a row on
 * the right slot, for the patient whose token asked, in the state last answered.
 */
export async function verifyShards(
  shards: readonly Pool[],
  slots: readonly SlotRef[],
  acknowledged: readonly AcknowledgedBooking[],
  hot: readonly HotSlotResult[] = [],
): Promise<Verification> {
  const c = collector();
  const slotIds = slots.map((s) => s.id);
  const capacityOf = new Map(slots.map((s) => [s.id, s.capacity]));
  const seenIn = new Map<string, number>();
  const activeOf = new Map<string, number>();
  const rowsByStatus: Record<string, number> = {};

  for (const [shard, pool] of shards.entries()) {
    const { rows: broken } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM slot_inventory WHERE held > capacity OR held < 0",
    );
    if ((broken[0]?.n ?? 0) > 0) c.violation(`shard ${shard}: ${broken[0]!.n} inventory rows with held outside 0..capacity`);

    const { rows } = await pool.query<InventoryAudit>(
      `SELECT i.slot_id, i.capacity, i.held,
              (SELECT count(*) FROM bookings b WHERE b.slot_id = i.slot_id
                 AND (b.status = 'CONFIRMED' OR (b.status = 'PENDING' AND b.expires_at > now())))::int AS active,
              (SELECT count(*) FROM bookings b WHERE b.slot_id = i.slot_id
                 AND b.status = 'PENDING' AND b.expires_at <= now())::int AS pending_lapsed
         FROM slot_inventory i WHERE i.slot_id = ANY($1::uuid[])`,
      [slotIds],
    );
    for (const row of rows) {
      if (seenIn.has(row.slot_id)) c.violation(`slot ${row.slot_id}: inventory in shards ${seenIn.get(row.slot_id)} and ${shard}`);
      seenIn.set(row.slot_id, shard);
      activeOf.set(row.slot_id, row.active);
      const capacity = capacityOf.get(row.slot_id) ?? row.capacity;
      if (row.active > capacity) c.violation(`OVERBOOKED slot ${row.slot_id} (shard ${shard}): ${row.active} active bookings, capacity ${capacity}`);
      if (row.held > row.capacity) c.violation(`slot ${row.slot_id} (shard ${shard}): held ${row.held} > capacity ${row.capacity}`);
      if (row.held !== row.active + row.pending_lapsed) {
        c.violation(`slot ${row.slot_id} (shard ${shard}): held ${row.held} != ${row.active} active + ${row.pending_lapsed} lapsed holds`);
      }
    }
    const { rows: statusRows } = await pool.query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM bookings WHERE slot_id = ANY($1::uuid[]) GROUP BY status",
      [slotIds],
    );
    for (const r of statusRows) rowsByStatus[r.status] = (rowsByStatus[r.status] ?? 0) + r.n;

    const { rows: doubles } = await pool.query<{ slot_id: string; patient_id: string; n: number }>(
      `SELECT slot_id, patient_id, count(*)::int AS n FROM bookings
        WHERE slot_id = ANY($1::uuid[]) AND (status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now()))
        GROUP BY slot_id, patient_id HAVING count(*) > 1`,
      [slotIds],
    );
    for (const d of doubles) c.violation(`slot ${d.slot_id} (shard ${shard}): patient ${d.patient_id} holds ${d.n} seats`);
  }

  const found = new Map<string, { slot_id: string; patient_id: string; status: string; lapsed: boolean }>();
  for (const ids of chunks(acknowledged.map((b) => b.id), 5000)) {
    for (const pool of shards) {
      const { rows } = await pool.query<{ id: string; slot_id: string; patient_id: string; status: string; lapsed: boolean }>(
        "SELECT id, slot_id, patient_id, status, expires_at <= now() AS lapsed FROM bookings WHERE id = ANY($1::uuid[])",
        [ids],
      );
      for (const r of rows) found.set(r.id, r);
    }
  }
  for (const ack of acknowledged) {
    const row = found.get(ack.id);
    if (!row) {
      c.violation(`booking ${ack.id} was acknowledged but is not in any shard`);
      continue;
    }
    if (row.slot_id !== ack.slotId) c.violation(`booking ${ack.id}: row is on slot ${row.slot_id}, the request was for ${ack.slotId}`);
    if (row.patient_id !== ack.patientId) {
      c.violation(`booking ${ack.id}: stored for patient ${row.patient_id}, the token was patient ${ack.patientId}'s`);
    }
    const expected = ack.status === "PENDING" ? ["PENDING", "EXPIRED"] : [ack.status];
    if (!expected.includes(row.status)) c.violation(`booking ${ack.id}: answered ${ack.status}, stored ${row.status}`);
  }
  const rowCount = Object.values(rowsByStatus).reduce((a, b) => a + b, 0);
  if (acknowledged.length > 0 && rowCount > acknowledged.length) {
    c.warning(`${rowCount - acknowledged.length} booking rows on these slots got no 2xx (committed after the client gave up, or a transport error)`);
  }
  checkHot(c, hot, activeOf);

  return {
    ok: c.count === 0,
    checked: `${slots.length} slots in ${shards.length} shards, ${acknowledged.length} acknowledged bookings`,
    violations: c.violations,
    warnings: c.warnings,
    rowsByStatus,
  };
}

/** Each hot slot: exactly `capacity` successes when every answer was a success or SLOT_FULL. */
function checkHot(c: ReturnType<typeof collector>, hot: readonly HotSlotResult[], activeOf: ReadonlyMap<string, number>): void {
  for (const h of hot) {
    const active = activeOf.get(h.slotId) ?? 0;
    if (h.booked > h.capacity) c.violation(`OVERBOOKED hot slot ${h.slotId}: ${h.booked} successes for ${h.capacity} seats`);
    if (active > h.capacity) c.violation(`OVERBOOKED hot slot ${h.slotId}: ${active} active rows for ${h.capacity} seats`);
    if (h.booked < h.capacity && h.attempts >= h.capacity) {
      if (h.other === 0) c.violation(`hot slot ${h.slotId}: only ${h.booked} of ${h.capacity} seats booked by ${h.attempts} clients, the rest told SLOT_FULL`);
      else c.warning(`hot slot ${h.slotId}: ${h.booked} of ${h.capacity} booked, ${h.other} answers neither success nor SLOT_FULL`);
    }
  }
}

/** The seed baseline's tables: the same questions, where the only counter is COUNT(*) itself. */
export async function verifyBaseline(
  pool: Pool,
  slots: readonly SlotRef[],
  acknowledged: readonly AcknowledgedBooking[],
  hot: readonly HotSlotResult[] = [],
): Promise<Verification> {
  const c = collector();
  const S = BASELINE_SCHEMA;
  const { rows } = await pool.query<{ id: string; capacity: number; active: number }>(
    `SELECT s.id, s.capacity, count(b.id) FILTER (WHERE b.status IN ('PENDING', 'CONFIRMED'))::int AS active
       FROM ${S}.slots s LEFT JOIN ${S}.bookings b ON b.slot_id = s.id
      WHERE s.id = ANY($1::uuid[]) GROUP BY s.id, s.capacity`,
    [slots.map((s) => s.id)],
  );
  const activeOf = new Map<string, number>();
  for (const row of rows) {
    activeOf.set(row.id, row.active);
    if (row.active > row.capacity) c.violation(`OVERBOOKED slot ${row.id}: ${row.active} active bookings, capacity ${row.capacity}`);
  }
  const found = new Map<string, { slot_id: string; status: string }>();
  for (const ids of chunks(acknowledged.map((b) => b.id), 5000)) {
    const { rows: got } = await pool.query<{ id: string; slot_id: string; status: string }>(
      `SELECT id, slot_id, status::text FROM ${S}.bookings WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    for (const r of got) found.set(r.id, r);
  }
  for (const ack of acknowledged) {
    const row = found.get(ack.id);
    if (!row) c.violation(`booking ${ack.id} was acknowledged but has no row`);
    else if (row.slot_id !== ack.slotId) c.violation(`booking ${ack.id}: row on slot ${row.slot_id}, requested ${ack.slotId}`);
    else if (row.status !== ack.status) c.violation(`booking ${ack.id}: answered ${ack.status}, stored ${row.status}`);
  }
  const { rows: statusRows } = await pool.query<{ status: string; n: number }>(
    `SELECT status::text, count(*)::int AS n FROM ${S}.bookings WHERE slot_id = ANY($1::uuid[]) GROUP BY status`,
    [slots.map((s) => s.id)],
  );
  checkHot(c, hot, activeOf);
  return {
    ok: c.count === 0,
    checked: `${slots.length} slots in ${S}, ${acknowledged.length} acknowledged bookings`,
    violations: c.violations,
    warnings: c.warnings,
    rowsByStatus: Object.fromEntries(statusRows.map((r) => [r.status, r.n])),
  };
}
