import { migrateLatest, migrateRollbackAll } from "@clinic/platform";
import { createScratchDatabase, type ScratchDatabase } from "@clinic/test-stack";
import { migrations } from "../migrations";

async function tableExists(db: ScratchDatabase, table: string): Promise<boolean> {
  const { rows } = await db.knex.raw<{ rows: { exists: boolean }[] }>("SELECT to_regclass(?) IS NOT NULL AS exists", [table]);
  return rows[0]!.exists;
}

describe("doctor migrations on real PostgreSQL", () => {
  let db: ScratchDatabase;

  beforeAll(async () => {
    db = await createScratchDatabase("doctor_migrations");
  });
  afterAll(async () => {
    await db.drop();
  });

  it("go up, down and up again", async () => {
    expect(await migrateLatest(db.knex, migrations)).toEqual(migrations.map((m) => m.name));
    expect(await tableExists(db, "doctors")).toBe(true);
    // Constraints are named and enforced.
    await expect(db.knex("doctors").insert({ name: "", specialization: "x" })).rejects.toThrow(/doctors_name_length/);

    expect(await migrateRollbackAll(db.knex, migrations)).toEqual([...migrations].reverse().map((m) => m.name));
    expect(await tableExists(db, "doctors")).toBe(false);
    const { rows } = await db.knex.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'");
    expect(rows).toHaveLength(0);

    expect(await migrateLatest(db.knex, migrations)).toHaveLength(migrations.length);
    expect(await tableExists(db, "doctors")).toBe(true);
    expect(await migrateLatest(db.knex, migrations)).toEqual([]);
  });
});
