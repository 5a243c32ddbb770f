import { status } from "@grpc/grpc-js";
import { createScratchDatabase, databaseSettings, freePort, type ScratchDatabase } from "@clinic/test-stack";
import { createDatabase } from "./database";
import { inTransaction, isDatabaseUnavailable } from "./database-errors";
import { runPrepared } from "./prepared-statement";
import { DomainError, toGrpcStatus } from "../errors/errors";

/**
 * What a failover looks like to a service: its connection is cut mid-transaction (HAProxy
 * shutting down a demoted primary's sessions, or the primary gone), or no server answers at all.
 * Both must reach the caller as UNAVAILABLE with a reason, never as INTERNAL.
 */
describe("database failures during a failover", () => {
  let db: ScratchDatabase;

  beforeAll(async () => {
    db = await createScratchDatabase("db_errors");
    await db.knex.raw("CREATE TABLE seats (id int PRIMARY KEY)");
    // A COMMIT that takes its time: a deferred constraint trigger runs at commit, inside it, and
    // sleeps there, so a test can cut the connection while the COMMIT is in flight.
    await db.knex.raw(`
      CREATE TABLE slow_commits (id int PRIMARY KEY);
      CREATE FUNCTION sleep_at_commit() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON slow_commits
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sleep_at_commit();
    `);
  });

  /**
   * Terminates the backend of this database that sleeps in pg_sleep (the deferred trigger at
   * COMMIT, or a slow read), as a failover cuts a connection: waits until there is one.
   */
  async function terminateTheSleeper(killer: ReturnType<typeof createDatabase>): Promise<number> {
    for (let tries = 0; tries < 200; tries++) {
      const { rows } = await killer.raw<{ rows: { pid: number }[] }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()",
      );
      if (rows.length === 1) {
        await killer.raw("SELECT pg_terminate_backend(?)", [rows[0]!.pid]);
        return rows[0]!.pid;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("no backend ever slept in pg_sleep");
  }

  const failureOf = (work: Promise<unknown>): Promise<unknown> =>
    work.then(
      () => undefined,
      (err: unknown) => err,
    );
  afterAll(async () => {
    await db?.drop();
  });

  it("answers DATABASE_UNAVAILABLE when the connection is cut before the commit, and nothing is written", async () => {
    const killer = createDatabase({ ...databaseSettings(db.name), poolMax: 1 });
    try {
      const failure = await inTransaction(db.knex, async (trx) => {
        await trx.raw("INSERT INTO seats VALUES (1)");
        const { rows } = await trx.raw<{ rows: { pid: number }[] }>("SELECT pg_backend_pid() AS pid");
        await killer.raw("SELECT pg_terminate_backend(?)", [rows[0]!.pid]);
        await trx.raw("INSERT INTO seats VALUES (2)");
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(DomainError);
      expect(failure).toMatchObject({ kind: "unavailable", reason: "DATABASE_UNAVAILABLE" });
      expect(toGrpcStatus(failure).code).toBe(status.UNAVAILABLE);
      // The pool dropped the dead connection: the next query works, and the rolled-back row is absent.
      expect((await db.knex.raw<{ rows: unknown[] }>("SELECT * FROM seats")).rows).toEqual([]);
    } finally {
      await killer.destroy();
    }
  });

  it("answers COMMIT_OUTCOME_UNKNOWN when the connection is cut while the COMMIT runs (inTransaction)", async () => {
    const killer = createDatabase({ ...databaseSettings(db.name), poolMax: 1 });
    try {
      let committing = false;
      const outcome = failureOf(
        inTransaction(db.knex, async (trx) => {
          await trx.raw("INSERT INTO slow_commits VALUES (1)");
          // The work is done: what remains is knex's COMMIT, where the deferred trigger sleeps.
          committing = true;
        }),
      );
      await terminateTheSleeper(killer);
      const failure = await outcome;
      expect(committing).toBe(true);
      expect(failure).toBeInstanceOf(DomainError);
      expect(failure).toMatchObject({ kind: "unavailable", reason: "COMMIT_OUTCOME_UNKNOWN" });
      const grpc = toGrpcStatus(failure);
      expect(grpc.code).toBe(status.UNAVAILABLE);
      expect(grpc.metadata.get("clinic-error-reason")).toEqual(["COMMIT_OUTCOME_UNKNOWN"]);
      // The pool recovers by itself: the next transaction on the same pool works.
      expect((await db.knex.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM slow_commits")).rows[0]!.n).toBe(0);
    } finally {
      await killer.destroy();
    }
  });

  it("answers COMMIT_OUTCOME_UNKNOWN when the connection is cut while a prepared write commits (runPrepared)", async () => {
    const killer = createDatabase({ ...databaseSettings(db.name), poolMax: 1 });
    const writer = createDatabase({ ...databaseSettings(db.name), poolMax: 1 });
    try {
      // One statement in autocommit: its commit, and so the deferred trigger, ends the statement.
      const outcome = failureOf(runPrepared(writer, { name: "slow_insert", text: "INSERT INTO slow_commits VALUES ($1)" }, [2]));
      await terminateTheSleeper(killer);
      const failure = await outcome;
      expect(failure).toBeInstanceOf(DomainError);
      expect(failure).toMatchObject({ kind: "unavailable", reason: "COMMIT_OUTCOME_UNKNOWN" });
      expect(toGrpcStatus(failure).code).toBe(status.UNAVAILABLE);
      // The broken connection is dropped: the same one-connection pool runs the next statement.
      expect(await runPrepared(writer, { name: "count_slow", text: "SELECT count(*)::int AS n FROM slow_commits", readOnly: true }, [])).toEqual([{ n: 0 }]);
    } finally {
      await writer.destroy();
      await killer.destroy();
    }
  });

  it("answers DATABASE_UNAVAILABLE, not unknown, when a prepared read loses its connection", async () => {
    const killer = createDatabase({ ...databaseSettings(db.name), poolMax: 1 });
    const reader = createDatabase({ ...databaseSettings(db.name), poolMax: 1 });
    try {
      const outcome = failureOf(runPrepared(reader, { name: "slow_read", text: "SELECT pg_sleep(60)", readOnly: true }, []));
      await terminateTheSleeper(killer);
      expect(await outcome).toMatchObject({ kind: "unavailable", reason: "DATABASE_UNAVAILABLE" });
    } finally {
      await reader.destroy();
      await killer.destroy();
    }
  });

  it("answers UNAVAILABLE, not INTERNAL, when no server answers at all", async () => {
    const nowhere = createDatabase({ ...databaseSettings(db.name), port: await freePort(), poolMax: 1 });
    try {
      const err = await nowhere.raw("SELECT 1").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDatabaseUnavailable(err)).toBe(true);
      const grpc = toGrpcStatus(err);
      expect(grpc).toMatchObject({ code: status.UNAVAILABLE, internal: false });
      expect(grpc.metadata.get("clinic-error-reason")).toEqual(["DATABASE_UNAVAILABLE"]);
    } finally {
      await nowhere.destroy();
    }
  });

  it("leaves other errors alone: a constraint violation is not an outage", async () => {
    await db.knex.raw("INSERT INTO seats VALUES (7)");
    const err = await inTransaction(db.knex, (trx) => trx.raw("INSERT INTO seats VALUES (7)")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(err)).toBe(false);
    expect(toGrpcStatus(err).code).toBe(status.INTERNAL);
  });
});
