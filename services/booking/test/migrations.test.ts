import { describeMigrations, tablesOf, testLogger } from "@clinic/test-stack";
import { migrations } from "../migrations";
import { ensureMonthlyPartitions } from "../src/partitions";

describeMigrations({
  service: "booking shard",
  migrations,
  title: "go up, down and up again, with monthly partitions",
  afterUp: async (db) => {
    await ensureMonthlyPartitions(db.knex, testLogger(), new Date(Date.UTC(2026, 0, 15)));
    expect(await tablesOf(db)).toEqual([
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
  },
  afterDown: async (db) => {
    expect(await tablesOf(db)).toEqual([]);
  },
  afterUpAgain: async (db) => {
    expect(await tablesOf(db)).toEqual(["booking_policies", "bookings", "bookings_archive", "bookings_default", "idempotency_keys", "outbox", "reschedule_sagas", "slot_inventory", "waitlist_entries"]);
  },
});
