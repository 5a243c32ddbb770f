import type { Knex } from "@clinic/platform/db";
import type { Logger } from "@clinic/platform/logging";

const monthStart = (year: number, month: number): Date => new Date(Date.UTC(year, month, 1));

/** `bookings_y2027m01` for January 2027: the monthly partition holding rows created then. */
export const partitionName = (from: Date): string =>
  `bookings_y${from.getUTCFullYear()}m${String(from.getUTCMonth() + 1).padStart(2, "0")}`;

/**
 * One lock per shard database for partition upkeep and archival, so two booking replicas never
 * run the same DDL at once (the loser skips its round; the winner does the work).
 */
export const MAINTENANCE_LOCK = "booking-partition-maintenance";

/**
 * Creates the monthly partitions of `bookings` from last month to `monthsAhead` months ahead.
 * Idempotent; run at start and then on a schedule, under the maintenance lock. A month whose rows
 * already landed in the default partition (the job did not run in time) is carved out of it:
 * its rows move into the new partition in the same transaction, so the month is attached
 * instead of the creation failing for good. Returns the partitions created.
 */
export async function ensureMonthlyPartitions(knex: Knex, logger: Logger, now: Date = new Date(), monthsAhead = 3): Promise<string[]> {
  const created: string[] = [];
  for (let offset = -1; offset <= monthsAhead; offset += 1) {
    const from = monthStart(now.getUTCFullYear(), now.getUTCMonth() + offset);
    const to = monthStart(from.getUTCFullYear(), from.getUTCMonth() + 1);
    const name = partitionName(from);
    try {
      const made = await knex.transaction(async (trx) => {
        const { rows: lock } = await trx.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked", [MAINTENANCE_LOCK]);
        if (!lock[0]?.locked) return false;
        const { rows: existing } = await trx.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_class WHERE relname = ? AND relnamespace = current_schema()::regnamespace", [name]);
        if (existing.length > 0) return false;
        // DDL takes no bind parameters; both bounds are ISO timestamps computed above.
        const bounds = `FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`;
        const { rows: stray } = await trx.raw<{ rows: unknown[] }>(
          "SELECT 1 FROM bookings_default WHERE created_at >= ? AND created_at < ? LIMIT 1",
          [from, to],
        );
        if (stray.length === 0) {
          await trx.raw(`CREATE TABLE ${name} PARTITION OF bookings FOR VALUES ${bounds}`);
          return true;
        }
        // The default partition is locked against writes while its rows of that month move.
        await trx.raw("LOCK TABLE bookings_default IN SHARE ROW EXCLUSIVE MODE");
        await trx.raw(`CREATE TABLE ${name} (LIKE bookings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await trx.raw(
          `WITH moved AS (DELETE FROM bookings_default WHERE created_at >= ? AND created_at < ? RETURNING *)
           INSERT INTO ${name} SELECT * FROM moved`,
          [from, to],
        );
        await trx.raw(`ALTER TABLE bookings ATTACH PARTITION ${name} FOR VALUES ${bounds}`);
        logger.warn({ partition: name }, "booking rows of a month without partition moved out of the default partition");
        return true;
      });
      if (made) created.push(name);
    } catch (err) {
      // Bookings still work meanwhile (rows land in the default partition, and an alert fires on
      // that); the next round tries again.
      logger.warn({ err, partition: name }, "could not create booking partition");
    }
  }
  return created;
}

export interface PartitionStatus {
  /** Whole months after the current one that have their partition (0: only this month's). */
  monthsAhead: number;
  /** Rows in the default partition: each one a month the upkeep did not prepare in time. */
  defaultRows: number;
}

/** What the metrics report: how far ahead partitions exist, and whether the default catches rows. */
export async function partitionStatus(knex: Knex, now: Date = new Date()): Promise<PartitionStatus> {
  const { rows } = await knex.raw<{ rows: { relname: string }[] }>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'bookings'::regclass AND c.relname ~ '^bookings_y[0-9]{4}m[0-9]{2}$'`,
  );
  const names = new Set(rows.map((r) => r.relname));
  let monthsAhead = -1;
  while (names.has(partitionName(monthStart(now.getUTCFullYear(), now.getUTCMonth() + monthsAhead + 1)))) monthsAhead += 1;
  const { rows: counts } = await knex.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM bookings_default");
  return { monthsAhead, defaultRows: counts[0]?.n ?? 0 };
}
