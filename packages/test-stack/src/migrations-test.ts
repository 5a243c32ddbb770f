import { migrateLatest, migrateRollbackAll, type Migration } from "@clinic/platform/db";
import { createScratchDatabase, type ScratchDatabase } from "./scratch-database";

/** What one service's migrations test checks between the steps that every such test takes. */
export interface MigrationsCheck {
  /** Names the suite ("doctor" → "doctor migrations on real PostgreSQL") and its scratch database. */
  service: string;
  migrations: readonly Migration[];
  /** The test's name, when it says more than "go up, down and up again". */
  title?: string;
  /** After the first migration up: the schema is there and its named constraints hold. */
  afterUp(db: ScratchDatabase): Promise<void>;
  /** After rolling every migration back: nothing of them is left. */
  afterDown(db: ScratchDatabase): Promise<void>;
  /** After migrating up again. */
  afterUpAgain(db: ScratchDatabase): Promise<void>;
  /** Further tests of the same suite, on the same database (`db()` once they run). */
  moreTests?(db: () => ScratchDatabase): void;
}

/**
 * A service's migrations against real PostgreSQL, up, down and up again (house style: a `down`
 * that was never run is not trusted), in a scratch database of their own.
 */
export function describeMigrations(check: MigrationsCheck): void {
  const { migrations } = check;
  describe(`${check.service} migrations on real PostgreSQL`, () => {
    let db: ScratchDatabase;

    beforeAll(async () => {
      db = await createScratchDatabase(`${check.service}_migrations`);
    });
    afterAll(async () => {
      await db.drop();
    });

    it(check.title ?? "go up, down and up again", async () => {
      expect(await migrateLatest(db.knex, migrations)).toEqual(migrations.map((m) => m.name));
      await check.afterUp(db);

      expect(await migrateRollbackAll(db.knex, migrations)).toEqual([...migrations].reverse().map((m) => m.name));
      await check.afterDown(db);

      expect(await migrateLatest(db.knex, migrations)).toHaveLength(migrations.length);
      await check.afterUpAgain(db);
      expect(await migrateLatest(db.knex, migrations)).toEqual([]);
    });

    check.moreTests?.(() => db);
  });
}

/** The tables of the public schema (partitioned ones and partitions too), the migrations' own left out. */
export async function tablesOf(db: ScratchDatabase): Promise<string[]> {
  const { rows } = await db.knex.raw<{ rows: { relname: string }[] }>(
    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND relname NOT LIKE 'knex_%' ORDER BY relname",
  );
  return rows.map((r) => r.relname);
}

export async function tableExists(db: ScratchDatabase, table: string): Promise<boolean> {
  const { rows } = await db.knex.raw<{ rows: { exists: boolean }[] }>("SELECT to_regclass(?) IS NOT NULL AS exists", [table]);
  return rows[0]!.exists;
}

export async function extensionInstalled(db: ScratchDatabase, name: string): Promise<boolean> {
  const { rows } = await db.knex.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_extension WHERE extname = ?", [name]);
  return rows.length > 0;
}
