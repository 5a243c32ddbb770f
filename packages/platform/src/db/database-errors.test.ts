import { status } from "@grpc/grpc-js";
import { createScratchDatabase, databaseSettings, freePort, type ScratchDatabase } from "@clinic/test-stack";
import { createDatabase } from "./database";
import { inTransaction, isDatabaseUnavailable } from "./database-errors";
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
  });
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
