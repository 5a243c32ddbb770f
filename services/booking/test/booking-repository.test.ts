import { randomUUID } from "node:crypto";
import { migrateLatest } from "@clinic/platform/db";
import { createScratchDatabase, type ScratchDatabase, slotAhead, testLogger } from "@clinic/test-stack";
import { migrations } from "../migrations";
import { decodeBookingId, newBookingId } from "../src/booking-id";
import { BookingShardRepository, type CreateOutcome } from "../src/booking-repository";
import { ensureMonthlyPartitions } from "../src/partitions";
import type { SlotInfo } from "../src/slot-directory";


describe("booking shard repository on real PostgreSQL", () => {
  let db: ScratchDatabase;
  let repo: BookingShardRepository;

  beforeAll(async () => {
    db = await createScratchDatabase("booking_repo");
    await migrateLatest(db.knex, migrations);
    await ensureMonthlyPartitions(db.knex, testLogger());
    repo = new BookingShardRepository(0, db.knex);
  });
  afterAll(async () => {
    await db.drop();
  });

  const newSlot = (capacity: number): SlotInfo => slotAhead(capacity);

  const hold = (slot: SlotInfo, opts: { patientId?: string; id?: string; holdTtlMs?: number } = {}): Promise<CreateOutcome> => {
    const id = opts.id ?? newBookingId(7);
    return repo.create({
      id,
      createdAt: decodeBookingId(id)!.createdAt,
      slot,
      patientId: opts.patientId ?? randomUUID(),
      patientName: "Ada Lovelace",
      patientContact: "ada@example.org",
      patientPhone: "",
      holdTtlMs: opts.holdTtlMs ?? 120_000,
    });
  };

  async function expectConsistent(): Promise<void> {
    for (const row of await repo.audit()) {
      expect(row.held).toBeLessThanOrEqual(row.capacity);
      expect(row.held).toBe(row.active + row.pending_lapsed);
    }
  }

  it("lets exactly `capacity` of many concurrent holds through", async () => {
    const slot = newSlot(5);
    const outcomes = await Promise.all(Array.from({ length: 120 }, () => hold(slot)));
    const kinds = outcomes.map((o) => o.kind);
    expect(kinds.filter((k) => k === "created")).toHaveLength(5);
    expect(kinds.filter((k) => k === "full")).toHaveLength(115);
    const [availability] = await repo.availability([slot.id]);
    expect(availability).toMatchObject({ capacity: 5, held: 5 });
    const { rows } = await db.knex.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM outbox WHERE message_key = ?", [slot.id]);
    expect(rows[0]!.n).toBe(5); // one booking.created event per hold, none for the refused
    await expectConsistent();
  });

  it("gives one patient at most one active booking per slot, even when racing", async () => {
    const slot = newSlot(10);
    const patientId = randomUUID();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => hold(slot, { patientId })));
    expect(outcomes.filter((o) => o.kind === "created")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "already_booked")).toHaveLength(7);
    await expectConsistent();
  });

  it("returns the existing booking when the same id is created twice (idempotent retry)", async () => {
    const slot = newSlot(3);
    const id = newBookingId(7);
    const outcomes = await Promise.all([hold(slot, { id }), hold(slot, { id }), hold(slot, { id })]);
    expect(outcomes.filter((o) => o.kind === "created")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "existing")).toHaveLength(2);
    expect((await repo.availability([slot.id]))[0]!.held).toBe(1);
  });

  it("decides racing confirms with exactly one winner, and confirm against cancel serially", async () => {
    const slot = newSlot(2);
    const a = await hold(slot);
    if (a.kind !== "created") throw new Error(a.kind);
    const { id, created_at } = a.booking;
    const confirms = await Promise.all([repo.confirm(id, created_at), repo.confirm(id, created_at), repo.confirm(id, created_at)]);
    expect(confirms.filter((o) => o.kind === "ok")).toHaveLength(1);
    expect(confirms.filter((o) => o.kind === "wrong_state" && o.status === "CONFIRMED")).toHaveLength(2);

    const b = await hold(slot);
    if (b.kind !== "created") throw new Error(b.kind);
    // Cancel always wins in the end (a confirmed booking may be cancelled); the outcomes are
    // those of some serial order: confirm then cancel (both succeed), or cancel then a
    // confirm that fails because the booking is cancelled. Never a confirmed-and-released seat.
    const [confirm, cancel] = await Promise.all([repo.confirm(b.booking.id, b.booking.created_at), repo.cancel(b.booking.id, b.booking.created_at)]);
    expect(cancel.kind).toBe("ok");
    if (confirm.kind !== "ok") expect(confirm).toMatchObject({ kind: "wrong_state", status: "CANCELLED" });
    expect((await repo.findById(b.booking.id, b.booking.created_at))?.status).toBe("CANCELLED");
    expect((await repo.availability([slot.id]))[0]!.held).toBe(1);
    await expectConsistent();
  });

  it("cancels a hold that a confirm begun before its lapse confirms while the cancel looks", async () => {
    const slot = newSlot(1);
    const held = await hold(slot, { holdTtlMs: 400 });
    if (held.kind !== "created") throw new Error(held.kind);
    const { id, created_at } = held.booking;
    // A confirm whose transaction began before the hold lapsed: its row lock taken, not committed.
    const confirming = await db.knex.transaction();
    try {
      const { rows } = await confirming.raw<{ rows: unknown[] }>(
        "UPDATE bookings SET status = 'CONFIRMED', updated_at = now() WHERE id = ? AND created_at = ? AND expires_at > now() RETURNING id",
        [id, created_at],
      );
      expect(rows).toHaveLength(1);
      await new Promise((r) => setTimeout(r, Math.max(0, held.booking.expires_at.getTime() - Date.now()) + 50));
      // The cancel starts after the lapse: its snapshot shows a lapsed hold, which its guard rejects
      // without waiting; the confirm commits while it looks again.
      const cancelling = repo.cancel(id, created_at);
      await new Promise((r) => setTimeout(r, 200));
      await confirming.commit();
      // The booking it finds is confirmed, which an admin may cancel: cancelled, seat given back.
      expect((await cancelling).kind).toBe("ok");
    } finally {
      if (!confirming.isCompleted()) await confirming.rollback();
    }
    expect((await repo.findById(id, created_at))?.status).toBe("CANCELLED");
    expect((await repo.availability([slot.id]))[0]!.held).toBe(0);
    await expectConsistent();
  });

  it("confirms or cancels for the booking's own patient only when one is named", async () => {
    const slot = newSlot(2);
    const held = await hold(slot);
    if (held.kind !== "created") throw new Error(held.kind);
    const { id, created_at, patient_id } = held.booking;
    expect(await repo.cancel(id, created_at, { patientId: "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10" })).toEqual({ kind: "not_owner" });
    expect(await repo.confirm(id, created_at, { patientId: "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10" })).toEqual({ kind: "not_owner" });
    expect((await repo.findById(id, created_at))?.status).toBe("PENDING");
    expect((await repo.confirm(id, created_at, { patientId: patient_id })).kind).toBe("ok");
    expect(await repo.confirm(id, created_at, { patientId: patient_id })).toMatchObject({ kind: "wrong_state", status: "CONFIRMED" });
    expect((await repo.cancel(id, created_at)).kind).toBe("ok");
    await expectConsistent();
  });

  it("cancel gives the seat back, also for a confirmed booking", async () => {
    const slot = newSlot(1);
    const first = await hold(slot);
    if (first.kind !== "created") throw new Error(first.kind);
    expect((await hold(slot)).kind).toBe("full");
    await repo.confirm(first.booking.id, first.booking.created_at);
    expect((await repo.cancel(first.booking.id, first.booking.created_at)).kind).toBe("ok");
    expect((await hold(slot)).kind).toBe("created");
    const again = await repo.cancel(first.booking.id, first.booking.created_at);
    expect(again).toMatchObject({ kind: "wrong_state", status: "CANCELLED" });
  });

  it("expires lapsed holds: a full slot reclaims them, confirm after expiry fails, the sweeper releases seats", async () => {
    const slot = newSlot(2);
    const lapsing = await Promise.all([hold(slot, { holdTtlMs: 200 }), hold(slot, { holdTtlMs: 200 })]);
    expect(lapsing.map((o) => o.kind)).toEqual(["created", "created"]);
    expect((await hold(slot)).kind).toBe("full");
    await new Promise((r) => setTimeout(r, 300));

    // Confirm racing expiry: the hold lapsed, so confirm loses with EXPIRED.
    const [first] = lapsing;
    if (first?.kind !== "created") throw new Error("unreachable");
    expect(await repo.confirm(first.booking.id, first.booking.created_at)).toMatchObject({ kind: "wrong_state", status: "EXPIRED" });
    // Full on paper, but the lapsed holds are reclaimed before answering.
    expect((await hold(slot)).kind).toBe("created");
    await expectConsistent();

    const other = newSlot(3);
    await Promise.all([hold(other, { holdTtlMs: 100 }), hold(other, { holdTtlMs: 100 }), hold(other)]);
    await new Promise((r) => setTimeout(r, 200));
    const swept = await repo.sweepExpired(1);
    expect(swept).toHaveLength(1);
    const rest = await repo.sweepExpired(100);
    expect(rest.length).toBeGreaterThanOrEqual(1);
    const [availability] = await repo.availability([other.id]);
    expect(availability).toMatchObject({ capacity: 3, held: 1 });
    await expectConsistent();
  });

  it("reports each committed seat change after its commit, and nothing for refusals and confirms", async () => {
    // What another connection sees when the hook runs: the committed state.
    const seen: { slotId: string; held: number | undefined }[] = [];
    const watched = new BookingShardRepository(0, db.knex, undefined, async (slotIds) => {
      for (const slotId of slotIds) seen.push({ slotId, held: (await repo.availability([slotId]))[0]?.held });
    });
    const slot = newSlot(1);
    const hold = (s: SlotInfo, holdTtlMs = 120_000) => {
      const id = newBookingId(7);
      return watched.create({ id, createdAt: decodeBookingId(id)!.createdAt, slot: s, patientId: randomUUID(), patientName: "P", patientContact: "p@example.org", patientPhone: "", holdTtlMs });
    };
    const created = await hold(slot);
    if (created.kind !== "created") throw new Error(created.kind);
    expect(seen).toEqual([{ slotId: slot.id, held: 1 }]);
    expect((await hold(slot)).kind).toBe("full");
    await watched.confirm(created.booking.id, created.booking.created_at);
    expect(seen).toHaveLength(1);
    await watched.cancel(created.booking.id, created.booking.created_at);
    expect(seen).toEqual([{ slotId: slot.id, held: 1 }, { slotId: slot.id, held: 0 }]);
    expect(await watched.cancel(created.booking.id, created.booking.created_at)).toMatchObject({ kind: "wrong_state" });
    expect(seen).toHaveLength(2);
    await watched.setCapacity(slot, 3);
    await watched.retire(slot.id, slot.doctorId);
    expect(seen.slice(2)).toEqual([{ slotId: slot.id, held: 0 }, { slotId: slot.id, held: 0 }]);

    const lapsing = newSlot(2);
    await hold(lapsing, 100);
    await new Promise((r) => setTimeout(r, 200));
    seen.length = 0;
    // Other tests' lapsed holds may be swept in the same batch; this slot's must be reported.
    await watched.sweepExpired(1_000);
    expect(seen).toContainEqual({ slotId: lapsing.id, held: 0 });
  });

  it("refuses a capacity below the seats held and retires only idle slots", async () => {
    const slot = newSlot(3);
    await hold(slot);
    await hold(slot);
    expect(await repo.setCapacity(slot, 1)).toBeUndefined();
    expect(await repo.setCapacity(slot, 2)).toMatchObject({ capacity: 2, held: 2 });
    expect((await hold(slot)).kind).toBe("full");
    expect(await repo.retire(slot.id, slot.doctorId)).toBe(false);

    const idle = newSlot(2);
    expect(await repo.retire(idle.id, idle.doctorId)).toBe(true);
    expect((await hold(idle)).kind).toBe("retired");
  });
});
