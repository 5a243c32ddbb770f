import type { Knex } from "@clinic/platform/db";
import type { Logger } from "@clinic/platform/logging";
import type { BookingRow } from "./booking-repository";
import { MAINTENANCE_LOCK } from "./partitions";

/**
 * Old bookings leave the hot, partitioned `bookings` table for `bookings_archive` (section 3.2 of
 * the design: bookings older than 6 months go to a separate table). The hot table then holds only
 * recent months, so its indexes and the partitions a booking touches stay small however long the
 * platform runs; the archive answers lookups by id and a patient's history, more slowly.
 */

/** Every column of a booking, in the order both tables have them. */
export const BOOKING_COLUMNS = [
  "id",
  "created_at",
  "slot_id",
  "doctor_id",
  "patient_id",
  "patient_name",
  "patient_contact",
  "status",
  "slot_start_time",
  "expires_at",
  "updated_at",
  "patient_phone",
  "reschedule_count",
  "rescheduled_from",
  "rescheduled_to",
  "waitlist_entry_id",
] as const;

const COLUMNS = BOOKING_COLUMNS.join(", ");

/**
 * A patient's bookings, hot and archived: the relation `list` reads from for a patient's history.
 * PostgreSQL pushes the filters and the ORDER BY … LIMIT into both branches (a Merge Append of
 * two index scans), so the archive costs one more index probe, not a scan.
 */
export const BOOKINGS_WITH_ARCHIVE = `(SELECT ${COLUMNS} FROM bookings UNION ALL SELECT ${COLUMNS} FROM bookings_archive)`;

/**
 * A booking that is finished and can leave the hot table: cancelled, expired, or confirmed for a
 * slot that has begun. A PENDING hold never moves, lapsed or not: its seat is still counted in
 * the slot's inventory until the sweeper expires it, and that must happen in the hot table.
 */
const FINISHED = "(status IN ('CANCELLED', 'EXPIRED') OR (status = 'CONFIRMED' AND slot_start_time <= now()))";

export interface ArchiveResult {
  /** Bookings moved to the archive in this round. */
  moved: number;
  /** Monthly partitions dropped because all their bookings are archived. */
  droppedPartitions: string[];
}

const monthStart = (year: number, month: number): Date => new Date(Date.UTC(year, month, 1));

/** The first instant not archived: the start of the month `afterMonths` months before `now`. */
export function archiveCutoff(now: Date, afterMonths: number): Date {
  return monthStart(now.getUTCFullYear(), now.getUTCMonth() - afterMonths);
}

/**
 * Moves finished bookings created before the cutoff into the archive, in batches (each batch one
 * transaction under the maintenance lock: a row is in exactly one of the two tables at every
 * commit), then drops the monthly partitions before the cutoff that are left empty. A month that
 * still holds an active booking keeps its partition until that booking is finished.
 */
export async function archiveOldBookings(
  knex: Knex,
  logger: Logger,
  /** `stopping`: asked between batches, so a shutdown need not wait for a long backlog. */
  options: { now?: Date; afterMonths: number; batchSize?: number; stopping?: () => boolean },
): Promise<ArchiveResult> {
  const cutoff = archiveCutoff(options.now ?? new Date(), options.afterMonths);
  const batchSize = options.batchSize ?? 5_000;
  let moved = 0;
  for (;;) {
    const n = await knex.transaction(async (trx) => {
      const { rows: lock } = await trx.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked", [MAINTENANCE_LOCK]);
      if (!lock[0]?.locked) return 0;
      // FOR UPDATE: a confirm or cancel racing the move either commits first (and the moved row
      // carries its result) or waits and then finds no row to change.
      const { rowCount } = await trx.raw<{ rowCount: number }>(
        `WITH moved AS (
           DELETE FROM bookings WHERE (id, created_at) IN (
             SELECT id, created_at FROM bookings WHERE created_at < ? AND ${FINISHED} LIMIT ? FOR UPDATE)
           RETURNING ${COLUMNS})
         INSERT INTO bookings_archive (${COLUMNS}) SELECT ${COLUMNS} FROM moved ON CONFLICT (id) DO NOTHING`,
        [cutoff, batchSize],
      );
      return rowCount;
    });
    moved += n;
    if (n < batchSize || options.stopping?.()) break;
  }
  const droppedPartitions = await dropEmptyPartitionsBefore(knex, cutoff);
  if (moved > 0 || droppedPartitions.length > 0) logger.info({ moved, droppedPartitions, cutoff }, "old bookings archived");
  return { moved, droppedPartitions };
}

async function dropEmptyPartitionsBefore(knex: Knex, cutoff: Date): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: { relname: string }[] }>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'bookings'::regclass AND c.relname ~ '^bookings_y[0-9]{4}m[0-9]{2}$' ORDER BY c.relname`,
  );
  const dropped: string[] = [];
  for (const { relname } of rows) {
    const match = /^bookings_y(\d{4})m(\d{2})$/.exec(relname)!;
    const end = monthStart(Number(match[1]), Number(match[2]));
    if (end > cutoff) continue;
    const done = await knex.transaction(async (trx) => {
      const { rows: lock } = await trx.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked", [MAINTENANCE_LOCK]);
      if (!lock[0]?.locked) return false;
      // The exclusive lock first, then the check: no row can arrive between the two.
      await trx.raw(`LOCK TABLE ${relname} IN ACCESS EXCLUSIVE MODE`);
      const { rows: left } = await trx.raw<{ rows: unknown[] }>(`SELECT 1 FROM ${relname} LIMIT 1`);
      if (left.length > 0) return false;
      await trx.raw(`ALTER TABLE bookings DETACH PARTITION ${relname}`);
      await trx.raw(`DROP TABLE ${relname}`);
      return true;
    });
    if (done) dropped.push(relname);
  }
  return dropped;
}

/** A booking that is no longer in the hot table, by id (the archive's primary key). */
export async function findArchivedBooking(knex: Knex, id: string): Promise<BookingRow | undefined> {
  const { rows } = await knex.raw<{ rows: BookingRow[] }>(`SELECT ${COLUMNS} FROM bookings_archive WHERE id = ?`, [id]);
  return rows[0];
}
