import type { Knex } from "knex";
import type { QueryResultRow } from "pg";
import { isTransactionPooled } from "./database";
import { commitOutcomeUnknown, databaseUnavailable, disposeBroken, isDatabaseUnavailable } from "./database-errors";

/**
 * A statement PostgreSQL parses and plans once per connection: node-postgres prepares it under
 * `name` on a connection's first use and afterwards sends only Bind/Execute. For the few hot
 * statements (a booking is one); knex stays for everything else.
 */
export interface PreparedStatement {
  name: string;
  text: string;
  /** A read: a connection lost while it ran changed nothing (DATABASE_UNAVAILABLE, not unknown). */
  readOnly?: boolean;
}

/** The part of a node-postgres client a prepared statement needs. */
interface PgClient {
  query<R extends QueryResultRow>(config: { name?: string; text: string; values: readonly unknown[] }): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * Runs one statement as its own transaction (autocommit) on a connection of knex's pool: one round
 * trip, no BEGIN or COMMIT of its own. A failover's two outcomes are told apart as `inTransaction`
 * does: no connection means nothing was written (DATABASE_UNAVAILABLE); a connection lost while the
 * statement ran may or may not have committed it (COMMIT_OUTCOME_UNKNOWN).
 */
export async function runPrepared<R extends QueryResultRow>(db: Knex, statement: PreparedStatement, values: readonly unknown[]): Promise<R[]> {
  let connection: PgClient;
  try {
    connection = (await db.client.acquireConnection()) as PgClient;
  } catch (err) {
    throw isDatabaseUnavailable(err) ? databaseUnavailable(err) : err;
  }
  try {
    // Through a transaction pooler the next use of this connection may reach a server
    // connection that never saw the statement prepared (PgBouncer 1.18 does not track them):
    // send it unnamed, parsed with each call in the same single round trip.
    const { rows } = await connection.query<R>(
      isTransactionPooled(db) ? { text: statement.text, values } : { name: statement.name, text: statement.text, values },
    );
    return rows;
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    disposeBroken(connection, err);
    throw statement.readOnly ? databaseUnavailable(err) : commitOutcomeUnknown(err);
  } finally {
    // A connection that broke is marked disposed by knex's pg client and dropped at its next
    // acquire; releasing it here is what knex itself does.
    await db.client.releaseConnection(connection);
  }
}
