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
        await cleanup.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}
