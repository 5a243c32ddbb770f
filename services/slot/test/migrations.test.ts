import { randomUUID } from "node:crypto";
import { migrateLatest } from "@clinic/platform/db";
import { describeMigrations, extensionInstalled, tableExists } from "@clinic/test-stack";
import { migrations } from "../migrations";

describeMigrations({
  service: "slot",
  migrations,
  afterUp: async (db) => {
    expect(await tableExists(db, "slots")).toBe(true);
    expect(await extensionInstalled(db, "btree_gist")).toBe(true);
  },
  afterDown: async (db) => {
    expect(await tableExists(db, "slots")).toBe(false);
    expect(await extensionInstalled(db, "btree_gist")).toBe(false);
  },
  afterUpAgain: async (db) => {
    expect(await tableExists(db, "slots")).toBe(true);
  },
  moreTests: (db) => {
    it("names and enforces every constraint", async () => {
      await migrateLatest(db().knex, migrations);
      const doctor = randomUUID();
      const slot = (start: string, end: string, capacity = 1, doctorId = doctor) =>
        db().knex("slots").insert({ doctor_id: doctorId, start_time: start, end_time: end, capacity });

      await slot("2030-01-07T09:00:00Z", "2030-01-07T10:00:00Z");
      // Back to back is not an overlap: ranges are half-open.
      await slot("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z");
      await expect(slot("2030-01-07T09:30:00Z", "2030-01-07T10:15:00Z")).rejects.toMatchObject({
        code: "23P01",
        constraint: "slots_no_overlap",
      });
      // The same hour for another doctor is fine.
      await slot("2030-01-07T09:30:00Z", "2030-01-07T10:15:00Z", 1, randomUUID());

      await expect(slot("2030-01-08T10:00:00Z", "2030-01-08T10:00:00Z")).rejects.toThrow(/slots_start_before_end/);
      await expect(slot("2030-01-08T10:00:00Z", "2030-01-09T10:00:01Z")).rejects.toThrow(/slots_length_max_24h/);
      await expect(slot("2030-01-08T10:00:00Z", "2030-01-08T11:00:00Z", 0)).rejects.toThrow(/slots_capacity_range/);
      await expect(slot("2030-01-08T10:00:00Z", "2030-01-08T11:00:00Z", 1001)).rejects.toThrow(/slots_capacity_range/);

      const { rows } = await db().knex.raw<{ rows: { indexname: string }[] }>(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'slots' ORDER BY indexname",
      );
      expect(rows.map((r) => r.indexname)).toEqual(["slots_doctor_id_start_time_id_idx", "slots_no_overlap", "slots_pkey"]);
    });
  },
});
