import type { KeyedCache, ListCache } from "@clinic/platform/cache";
import type { Knex } from "@clinic/platform/db";
import { DomainError } from "@clinic/platform/errors";
import { TOPICS } from "@clinic/platform/kafka";
import { writeOutbox } from "@clinic/platform/outbox";
import { slotEvent } from "./slot-events";

export interface SlotRow {
  id: string;
  doctor_id: string;
  start_time: Date;
  end_time: Date;
  capacity: number;
  created_at: Date;
  updated_at: Date;
}

export interface NewSlot {
  doctorId: string;
  startTime: Date;
  endTime: Date;
  capacity: number;
}

export interface SlotListQuery {
  doctorId: string;
  /** Slots starting in [startFrom, startTo). */
  startFrom?: Date;
  startTo?: Date;
  limit: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { startTime: Date; id: string };
}

/** The exclusion constraint of the create_slots migration. */
const OVERLAP_CONSTRAINT = "slots_no_overlap";
const EXCLUSION_VIOLATION = "23P01";

function isOverlapViolation(err: unknown): boolean {
  const pgError = err as { code?: unknown; constraint?: unknown } | null;
  return pgError?.code === EXCLUSION_VIOLATION && pgError.constraint === OVERLAP_CONSTRAINT;
}

const overlap = (doctorId: string): DomainError =>
  new DomainError("conflict", "SLOT_OVERLAP", `the slot overlaps an existing slot of doctor ${doctorId}`);

const byStartTime = (a: SlotRow, b: SlotRow): number => a.start_time.getTime() - b.start_time.getTime();

/** Redis caches of slots (design section 5.2): `slot:{id}` and the lists `doctor:{id}:slots`. */
export interface SlotCaches {
  slots: KeyedCache<SlotRow>;
  lists: ListCache<SlotRow[]>;
}

export const slotKey = (id: string): string => `slot:${id}`;
/** The namespace (one generation) of every cached list of one doctor's slots. */
export const doctorSlotsNamespace = (doctorId: string): string => `doctor:${doctorId}:slots`;

/** The cache key of a list query within its doctor's namespace: equal requests, equal strings. */
export function listQueryKey(query: SlotListQuery): string {
  return JSON.stringify([
    query.limit,
    query.startFrom?.getTime() ?? null,
    query.startTo?.getTime() ?? null,
    query.after?.startTime.getTime() ?? null,
    query.after?.id ?? null,
  ]);
}

/**
 * Every write records its events in the outbox in the same transaction; once it has committed,
 * it invalidates the slot's key and its doctor's lists. Reads go through the caches when given.
 */
export class SlotRepository {
  constructor(
    private readonly db: Knex,
    private readonly eventsTopic: string = TOPICS.slotEvents,
    private readonly caches?: SlotCaches,
  ) {}

  /**
   * Inserts all slots in one INSERT statement, so they are created all together or not at all.
   * An overlap, with an existing slot or between two of them, refuses the whole batch.
   */
  async createMany(slots: readonly NewSlot[]): Promise<SlotRow[]> {
    const first = slots[0];
    if (!first) return [];
    try {
      const rows = await this.db.transaction(async (trx) => {
        const inserted: SlotRow[] = await trx("slots")
          .insert(
            slots.map((s) => ({ doctor_id: s.doctorId, start_time: s.startTime, end_time: s.endTime, capacity: s.capacity })),
          )
          .returning("*");
        // RETURNING order is not promised by PostgreSQL; callers (and events) get time order.
        inserted.sort(byStartTime);
        await writeOutbox(trx, inserted.map((row) => slotEvent(this.eventsTopic, "slot.created", row)));
        return inserted;
      });
      // New ids were never cached ("not found" is not stored); only the doctor's lists change.
      await this.caches?.lists.invalidateAll(...new Set(rows.map((row) => doctorSlotsNamespace(row.doctor_id))));
      return rows;
    } catch (err) {
      if (isOverlapViolation(err)) throw overlap(first.doctorId);
      throw err;
    }
  }

  async create(slot: NewSlot): Promise<SlotRow> {
    const [row] = await this.createMany([slot]);
    return row as SlotRow;
  }

  async get(id: string): Promise<SlotRow | undefined> {
    const load = () => this.db<SlotRow>("slots").where({ id }).first();
    return this.caches ? this.caches.slots.getOrLoad(id, load) : load();
  }

  /** The slots that exist among `ids`, in no particular order. */
  async getMany(ids: readonly string[]): Promise<SlotRow[]> {
    if (ids.length === 0) return [];
    const load = (wanted: readonly string[]) => this.db<SlotRow>("slots").whereIn("id", wanted);
    if (!this.caches) return load(ids);
    const found = await this.caches.slots.getMany(ids, async (missing) => new Map((await load(missing)).map((row) => [row.id, row])));
    return [...found.values()];
  }

  async list(query: SlotListQuery): Promise<SlotRow[]> {
    if (!this.caches) return this.listFromDatabase(query);
    return this.caches.lists.getOrLoad(doctorSlotsNamespace(query.doctorId), listQueryKey(query), () => this.listFromDatabase(query));
  }

  /** Slots starting in [from, to), in (start_time, id) order after a keyset cursor; for cache warming. */
  async upcoming(from: Date, to: Date, limit: number, after?: { startTime: Date; id: string }): Promise<SlotRow[]> {
    const q = this.db<SlotRow>("slots")
      .select("*")
      .where("start_time", ">=", from)
      .where("start_time", "<", to)
      .orderBy([{ column: "start_time" }, { column: "id" }])
      .limit(limit);
    if (after) q.whereRaw("(start_time, id) > (?, ?)", [after.startTime, after.id]);
    return q;
  }

  private async listFromDatabase(query: SlotListQuery): Promise<SlotRow[]> {
    const q = this.db<SlotRow>("slots")
      .select("*")
      .where({ doctor_id: query.doctorId })
      .orderBy([{ column: "start_time" }, { column: "id" }])
      .limit(query.limit);
    if (query.startFrom) q.where("start_time", ">=", query.startFrom);
    if (query.startTo) q.where("start_time", "<", query.startTo);
    if (query.after) q.whereRaw("(start_time, id) > (?, ?)", [query.after.startTime, query.after.id]);
    return q;
  }

  /**
   * Changes a slot's capacity under a row lock held across `beforeUpdate` (the call that moves
   * the booking service's seat inventory first). Two concurrent changes of one slot therefore
   * reach the booking service and this table in the same order, and the two agree afterwards.
   * Resolves undefined when the slot does not exist.
   */
  async updateCapacity(
    id: string,
    capacity: number,
    beforeUpdate: (slot: SlotRow) => Promise<void>,
  ): Promise<SlotRow | undefined> {
    const updated = await this.db.transaction(async (trx) => {
      const slot = await trx<SlotRow>("slots").where({ id }).forUpdate().first();
      if (!slot) return undefined;
      await beforeUpdate(slot);
      const rows: SlotRow[] = await trx("slots")
        .where({ id })
        .update({ capacity, updated_at: trx.fn.now() })
        .returning("*");
      if (rows[0]) await writeOutbox(trx, [slotEvent(this.eventsTopic, "slot.updated", rows[0])]);
      return rows[0];
    });
    if (updated) await this.changed(updated);
    return updated;
  }

  /**
   * Deletes a slot under a row lock held across `beforeDelete` (retiring it in the booking
   * service), so a concurrent capacity change cannot re-open the slot in between. A failing
   * `beforeDelete` keeps the slot. Resolves false when the slot does not exist.
   */
  async delete(id: string, beforeDelete: (slot: SlotRow) => Promise<void>): Promise<boolean> {
    const deleted = await this.db.transaction(async (trx) => {
      const slot = await trx<SlotRow>("slots").where({ id }).forUpdate().first();
      if (!slot) return undefined;
      await beforeDelete(slot);
      const gone = (await trx("slots").where({ id }).delete()) > 0;
      if (gone) await writeOutbox(trx, [slotEvent(this.eventsTopic, "slot.deleted", slot)]);
      return gone ? slot : undefined;
    });
    if (deleted) await this.changed(deleted);
    return deleted !== undefined;
  }

  /** After commit, never before: a reader in between would cache the old row again. Never throws. */
  private async changed(slot: SlotRow): Promise<void> {
    if (!this.caches) return;
    await Promise.all([this.caches.slots.invalidate(slot.id), this.caches.lists.invalidateAll(doctorSlotsNamespace(slot.doctor_id))]);
  }
}
