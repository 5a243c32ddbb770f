import { describeMigrations, tableExists } from "@clinic/test-stack";
import { migrations } from "../migrations";

describeMigrations({
  service: "doctor",
  migrations,
  afterUp: async (db) => {
    expect(await tableExists(db, "doctors")).toBe(true);
    // Constraints are named and enforced.
    await expect(db.knex("doctors").insert({ name: "", specialization: "x" })).rejects.toThrow(/doctors_name_length/);
  },
  afterDown: async (db) => {
    expect(await tableExists(db, "doctors")).toBe(false);
    const { rows } = await db.knex.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'");
    expect(rows).toHaveLength(0);
  },
  afterUpAgain: async (db) => {
    expect(await tableExists(db, "doctors")).toBe(true);
  },
});
