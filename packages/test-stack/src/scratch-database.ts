import { randomBytes } from "node:crypto";
import { createDatabase, type Knex } from "@clinic/platform/db";
import { databaseSettings } from "./stack-env";

export interface ScratchDatabase {
  name: string;
  knex: Knex;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A new, empty database for one test file, so tests never see each other's rows and can run in
 * parallel. The stack's `clinic` role has CREATEDB.
 */
export async function createScratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = `t_${prefix.replace(/[^a-z0-9_]/g, "_")}_${randomBytes(4).toString("hex")}`;
  const admin = createDatabase({ ...databaseSettings("postgres"), poolMax: 1 });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const knex = createDatabase(databaseSettings(name));
  return {
    name,
    knex,
    drop: async () => {
      await knex.destroy();
      const cleanup = createDatabase({ ...databaseSettings("postgres"), poolMax: 1 });
      try {
        await dropForcibly(cleanup, name);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}

/** PostgreSQL's insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = "42501";

/**
 * DROP DATABASE ... WITH (FORCE), which ends the sessions a test left behind. PostgreSQL 15
 * refuses it while an autovacuum worker is in the database (the worker has no role the `clinic`
 * role may signal: "must be a member of the role whose process is being terminated"); that worker
 * is done with a scratch database's few rows in moments, so the drop is asked again meanwhile.
 */
async function dropForcibly(db: Knex, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== INSUFFICIENT_PRIVILEGE || attempt === 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
