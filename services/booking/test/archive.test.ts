import { randomUUID } from "node:crypto";
import { migrateLatest } from "@clinic/platform/db";
import { createScratchDatabase, type ScratchDatabase, testLogger } from "@clinic/test-stack";
import { migrations } from "../migrations";
import { archiveCutoff, archiveOldBookings, findArchivedBooking } from "../src/archive";
import { decodeBookingId, newBookingId } from "../src/booking-id";
import { BookingShardRepository } from "../src/booking-repository";
import { ensureMonthlyPartitions, partitionStatus } from "../src/partitions";
import type { SlotInfo } from "../src/slot-directory";

const DAY = 24 * 3_600_000;

const partitions = async (db: ScratchDatabase): Promise<string[]> => {
  const { rows } = await db.knex.raw<{ rows: { relname: string }[] }>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'bookings'::regclass ORDER BY c.relname`,
  );
  return rows.map((r) => r.relname);
};

describe("monthly partitions of bookings", () => {
  let db: ScratchDatabase;
  beforeEach(async () => {
    db = await createScratchDatabase("booking_partitions");
    await migrateLatest(db.knex, migrations);
  });
  afterEach(async () => {
    await db.drop();
  });

  it("are created three months ahead across a year boundary, once however often the job runs", async () => {
    const november = new Date(Date.UTC(2026, 10, 20));
    expect(await ensureMonthlyPartitions(db.knex, testLogger(), november, 3)).toEqual([
      "bookings_y2026m10",
      "bookings_y2026m11",
      "bookings_y2026m12",
      "bookings_y2027m01",
      "bookings_y2027m02",
    ]);
    expect(await ensureMonthlyPartitions(db.knex, testLogger(), november, 3)).toEqual([]);
    expect(await partitionStatus(db.knex, november)).toEqual({ monthsAhead: 3, defaultRows: 0 });
    // The bounds are whole UTC months: New Year's Eve and New Year's Day land in different ones.
    const { rows } = await db.knex.raw<{ rows: { bound: string }[] }>(
      "SELECT pg_get_expr(relpartbound, oid) AS bound FROM pg_class WHERE relname IN ('bookings_y2026m12', 'bookings_y2027m01') ORDER BY relname",
    );
    expect(rows.map((r) => r.bound)).toEqual([
      "FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')",
      "FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2027-02-01 00:00:00+00')",
    ]);
    // In the new year the job adds the months that come into its window.
    expect(await ensureMonthlyPartitions(db.knex, testLogger(), new Date(Date.UTC(2027, 0, 2)), 3)).toEqual(["bookings_y2027m03", "bookings_y2027m04"]);
    expect(await partitionStatus(db.knex, new Date(Date.UTC(2027, 0, 2)))).toEqual({ monthsAhead: 3, defaultRows: 0 });
  });

  it("catch a booking created where no partition exists in the default partition, and carve its month out later", async () => {
    const repo = new BookingShardRepository(0, db.knex);
    await ensureMonthlyPartitions(db.knex, testLogger());
    // A booking created a year from now (a clock far ahead): no partition exists for it.
    const createdAt = new Date(Date.now() + 365 * DAY);
    const id = newBookingId(0, createdAt.getTime());
    const outcome = await repo.create({
      id,
      createdAt: decodeBookingId(id)!.createdAt,
      slot: { id: randomUUID(), doctorId: randomUUID(), startTime: new Date(Date.now() + 400 * DAY), endTime: new Date(Date.now() + 400 * DAY + 1_800_000), capacity: 1 },
      patientId: randomUUID(),
      patientName: "Ada",
      patientContact: "ada@example.org",
      patientPhone: "",
      holdTtlMs: 60_000,
    });
    expect(outcome.kind).toBe("created");
    expect((await partitionStatus(db.knex)).defaultRows).toBe(1);

    // When the job reaches that month, the row moves into the month's new partition.
    const created = await ensureMonthlyPartitions(db.knex, testLogger(), createdAt, 0);
    expect(created).toContain(`bookings_y${createdAt.getUTCFullYear()}m${String(createdAt.getUTCMonth() + 1).padStart(2, "0")}`);
    expect((await partitionStatus(db.knex)).defaultRows).toBe(0);
    expect(await repo.findById(id, decodeBookingId(id)!.createdAt)).toMatchObject({ id, status: "PENDING" });
  });
});

describe("archival of old bookings", () => {
  let db: ScratchDatabase;
  let repo: BookingShardRepository;
  const now = new Date();
  // Eight months ago: past the 6-month cutoff.
  const old = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 8, 10, 9));
  const oldPartition = `bookings_y${old.getUTCFullYear()}m${String(old.getUTCMonth() + 1).padStart(2, "0")}`;

  beforeAll(async () => {
    db = await createScratchDatabase("booking_archive");
    await migrateLatest(db.knex, migrations);
    await ensureMonthlyPartitions(db.knex, testLogger(), old, 0);
    await ensureMonthlyPartitions(db.knex, testLogger(), now, 3);
    repo = new BookingShardRepository(0, db.knex);
  });
  afterAll(async () => {
    await db.drop();
  });

  const slot = (startsInDays: number, capacity = 10): SlotInfo => ({
    id: randomUUID(),
    doctorId: randomUUID(),
    startTime: new Date(now.getTime() + startsInDays * DAY),
    endTime: new Date(now.getTime() + startsInDays * DAY + 1_800_000),
    capacity,
  });

  /** A booking created at `at` (its id says so), confirmed or held. */
  async function bookAt(at: Date, s: SlotInfo, patientId: string, confirm: boolean): Promise<string> {
    const id = newBookingId(0, at.getTime());
    const outcome = await repo.create({
      id,
      createdAt: decodeBookingId(id)!.createdAt,
      slot: s,
      patientId,
      patientName: "Grace",
      patientContact: "grace@example.org",
      patientPhone: "",
      holdTtlMs: 600_000,
      confirm,
    });
    if (outcome.kind !== "created") throw new Error(`booking not created: ${outcome.kind}`);
    return id;
  }

  it("moves finished bookings of an old month, never an active one, and keeps them answerable by id and in the patient's history", async () => {
    const patientId = randomUUID();
    const past = slot(-200); // began long ago: its confirmed booking is finished
    const future = slot(30); // booked long ahead: still active
    const seen = await bookAt(old, past, patientId, true);
    const cancelled = await bookAt(new Date(old.getTime() + 1_000), slot(-190), patientId, true);
    await repo.cancel(cancelled, decodeBookingId(cancelled)!.createdAt);
    const upcoming = await bookAt(new Date(old.getTime() + 2_000), future, patientId, true);
    const held = await bookAt(new Date(old.getTime() + 3_000), slot(40), patientId, false);
    const recent = await bookAt(now, slot(5), patientId, true);

    // Before: all in the hot table.
    for (const id of [seen, cancelled, upcoming, held, recent]) {
      expect(await repo.findById(id, decodeBookingId(id)!.createdAt)).toBeDefined();
    }

    const result = await archiveOldBookings(db.knex, testLogger(), { now, afterMonths: 6 });
    expect(result.moved).toBe(2);
    // The month still holds active bookings: its partition stays (the empty month before it goes).
    expect(result.droppedPartitions).not.toContain(oldPartition);
    expect(await partitions(db)).toContain(oldPartition);

    // After: the finished ones are gone from the hot table and found in the archive by id.
    expect(await repo.findById(seen, decodeBookingId(seen)!.createdAt)).toBeUndefined();
    expect(await findArchivedBooking(db.knex, seen)).toMatchObject({ id: seen, status: "CONFIRMED" });
    expect(await findArchivedBooking(db.knex, cancelled)).toMatchObject({ id: cancelled, status: "CANCELLED" });
    // The active ones stay hot, untouched.
    expect(await repo.findById(upcoming, decodeBookingId(upcoming)!.createdAt)).toMatchObject({ status: "CONFIRMED" });
    expect(await repo.findById(held, decodeBookingId(held)!.createdAt)).toMatchObject({ status: "PENDING" });
    expect(await findArchivedBooking(db.knex, upcoming)).toBeUndefined();

    // The patient's history has all five, newest first, archived ones included, page by page.
    const firstPage = await repo.list({ patientId, statuses: [] }, undefined, 3);
    const cursor = { createdAt: firstPage.at(-1)!.created_at, id: firstPage.at(-1)!.id };
    const secondPage = await repo.list({ patientId, statuses: [] }, cursor, 3);
    expect([...firstPage, ...secondPage].map((r) => r.id)).toEqual([recent, held, upcoming, cancelled, seen]);
    // Seats were not touched by the move.
    const [inventory] = await repo.availability([future.id]);
    expect(inventory).toMatchObject({ held: 1 });

    // Once the last active bookings of the month are finished, the month is archived and its
    // partition dropped.
    await repo.cancel(upcoming, decodeBookingId(upcoming)!.createdAt);
    await repo.cancel(held, decodeBookingId(held)!.createdAt);
    const second = await archiveOldBookings(db.knex, testLogger(), { now, afterMonths: 6 });
    expect(second.moved).toBe(2);
    expect(second.droppedPartitions).toEqual([oldPartition]);
    expect(await partitions(db)).not.toContain(oldPartition);
    expect(await findArchivedBooking(db.knex, upcoming)).toMatchObject({ status: "CANCELLED" });
    // Recent bookings are never archived.
    expect(await repo.findById(recent, decodeBookingId(recent)!.createdAt)).toBeDefined();
  });

  it("cuts off at whole months", () => {
    expect(archiveCutoff(new Date(Date.UTC(2027, 2, 15)), 6).toISOString()).toBe("2026-09-01T00:00:00.000Z");
    expect(archiveCutoff(new Date(Date.UTC(2027, 0, 1)), 6).toISOString()).toBe("2026-07-01T00:00:00.000Z");
  });
});
