import type { Knex } from "knex";
import { DomainError } from "../errors/errors";

/**
 * Failures that mean "the database was not there", not "the request was wrong": the connection
 * broke (a primary killed, a failover, HAProxy cutting a demoted primary's sessions), could not be
 * made, or reached a server that cannot take writes any more. The caller may retry; a pool drops
 * the broken connection and the next acquire dials whichever primary now answers.
 */
const NETWORK_ERROR_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ENOTCONN", "EHOSTUNREACH", "ECONNABORTED"]);
// SQLSTATE class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect
// now), 25006 (read-only transaction: a demoted primary), 53300 (too many connections).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|25006|53300)$/;
const NETWORK_MESSAGES = [
  "Connection terminated",
  "connection error and is not queryable",
  "timeout exceeded when trying to connect",
  "Timeout acquiring a connection",
  "the database system is",
  "Client was closed and is not queryable",
];

export function isDatabaseUnavailable(err: unknown): boolean {
  // Duck-typed, not `instanceof Error`: socket errors are made by Node's own realm, which is not
  // the caller's in a VM context (jest's, for one).
  if (typeof err !== "object" || err === null) return false;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === "string" && (NETWORK_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  if (name === "KnexTimeoutError") return true;
  return typeof message === "string" && NETWORK_MESSAGES.some((text) => message.includes(text));
}

export const databaseUnavailable = (cause: unknown): DomainError =>
  Object.assign(new DomainError("unavailable", "DATABASE_UNAVAILABLE", "the database is unavailable; nothing was changed, retry"), { cause });

export const commitOutcomeUnknown = (cause: unknown): DomainError =>
  Object.assign(
    new DomainError(
      "unavailable",
      "COMMIT_OUTCOME_UNKNOWN",
      "the database connection broke while the change was being committed; retry with the same idempotency key to learn whether it was applied",
    ),
    { cause },
  );

/**
 * `db.transaction(work)` with a failover's two outcomes told apart: a connection lost before the
 * COMMIT was sent means nothing was written (DATABASE_UNAVAILABLE); lost while the COMMIT was in
 * flight, the change may or may not have been applied (COMMIT_OUTCOME_UNKNOWN). Both are
 * UNAVAILABLE to the caller, who retries; an idempotency key makes that retry safe either way.
 */
export async function inTransaction<T>(db: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  let committing = false;
  let connection: unknown;
  try {
    return await db.transaction(async (trx) => {
      // Inside a transaction knex hands back the transaction's own connection.
      connection = await trx.client.acquireConnection();
      const result = await work(trx);
      committing = true;
      return result;
    });
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    disposeBroken(connection, err);
    throw committing ? commitOutcomeUnknown(err) : databaseUnavailable(err);
  }
}

/**
 * Marks a connection whose server went away as unusable, so knex's pool destroys it at its next
 * acquire instead of handing it out. knex marks it itself when the socket's "end" event arrives,
 * but that can come after the failed query's error: a request acquiring at once would get the
 * dead connection and fail too.
 */
export function disposeBroken(connection: unknown, err: unknown): void {
  if (typeof connection !== "object" || connection === null) return;
  const marked = connection as { __knex__disposed?: unknown };
  marked.__knex__disposed ??= err;
}
