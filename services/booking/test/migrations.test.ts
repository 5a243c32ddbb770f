import { migrateLatest, migrateRollbackAll } from "@clinic/platform";
import { createScratchDatabase, type ScratchDatabase, testLogger } from "@clinic/test-stack";
import { migrations } from "../migrations";
import { ensureMonthlyPartitions } from "../src/partitions";

const relations = async (db: ScratchDatabase): Promise<string[]> => {
  const { rows } = await db.knex.raw<{ rows: { relname: string }[] }>(
    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND relname <> 'knex_migrations' AND relname <> 'knex_migrations_lock' ORDER BY relname",
  );
  return rows.map((r) => r.relname);
};

describe("booking shard migrations on real PostgreSQL", () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase("booking_migrations");
  });
  afterAll(async () => {
    await db.drop();
  });

  it("go up, down and up again, with monthly partitions", async () => {
    await migrateLatest(db.knex, migrations);
    await ensureMonthlyPartitions(db.knex, testLogger(), new Date(Date.UTC(2026, 0, 15)));
    expect(await relations(db)).toEqual([
      "booking_policies",
      "bookings",
      "bookings_archive",
      "bookings_default",
      "bookings_y2025m12",
      "bookings_y2026m01",
      "bookings_y2026m02",
      "bookings_y2026m03",
      "bookings_y2026m04",
      "idempotency_keys",
      "outbox",
      "reschedule_sagas",
      "slot_inventory",
      "waitlist_entries",
    ]);
    // The inventory refuses a counter above capacity, whatever the code does.
    await db.knex.raw(
      "INSERT INTO slot_inventory (slot_id, doctor_id, start_time, end_time, capacity, held) VALUES (gen_random_uuid(), gen_random_uuid(), now(), now() + interval '1 hour', 1, 1)",
    );
    await expect(db.knex.raw("UPDATE slot_inventory SET held = held + 1")).rejects.toThrow(/slot_inventory_held_within_capacity/);

    await migrateRollbackAll(db.knex, migrations);
    expect(await relations(db)).toEqual([]);
    await migrateLatest(db.knex, migrations);
    expect(await relations(db)).toEqual(["booking_policies", "bookings", "bookings_archive", "bookings_default", "idempotency_keys", "outbox", "reschedule_sagas", "slot_inventory", "waitlist_entries"]);
  });
});
