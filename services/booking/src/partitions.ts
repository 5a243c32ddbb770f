import type { Knex, Logger } from "@clinic/platform";

const monthStart = (year: number, month: number): Date => new Date(Date.UTC(year, month, 1));

/**
 * Creates the monthly partitions of `bookings` from last month to `monthsAhead` months ahead.
 * Idempotent; run at start and daily, so rows never pile up in the default partition. (Old
 * months are detached and archived by operations, not by the service.)
 */
export async function ensureMonthlyPartitions(
  knex: Knex,
  logger: Logger,
  now: Date = new Date(),
  monthsAhead = 3,
): Promise<void> {
  for (let offset = -1; offset <= monthsAhead; offset += 1) {
    const from = monthStart(now.getUTCFullYear(), now.getUTCMonth() + offset);
    const to = monthStart(from.getUTCFullYear(), from.getUTCMonth() + 1);
    const name = `bookings_y${from.getUTCFullYear()}m${String(from.getUTCMonth() + 1).padStart(2, "0")}`;
    try {
      // DDL takes no bind parameters; both bounds are ISO timestamps computed above.
      await knex.raw(
        `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF bookings FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
      );
    } catch (err) {
      // Typically: the default partition already holds rows of that month. Bookings still
      // work (they stay in the default partition); an operator moves them and retries.
      logger.warn({ err, partition: name }, "could not create booking partition");
    }
  }
}
