import type { ListCache } from "@clinic/platform/cache";
import type { Knex } from "@clinic/platform/db";
import { TOPICS } from "@clinic/platform/kafka";
import { writeOutbox } from "@clinic/platform/outbox";
import { doctorEvent } from "./doctor-events";

export interface DoctorRow {
  id: string;
  name: string;
  specialization: string;
  created_at: Date;
  updated_at: Date;
}

export interface DoctorListQuery {
  specialization?: string;
  nameQuery?: string;
  limit: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { name: string; id: string };
}

/** Every cached doctor list lives under this namespace's generation (design section 5.2). */
export const DOCTORS_NAMESPACE = "doctors:all";

/**
 * The cache key of a list query: equal requests, equal strings. The name search is lower-cased
 * here exactly as the SQL does; the specialization is compared by PostgreSQL's lower(), so it
 * stays as given rather than risk two requests PostgreSQL tells apart sharing one entry.
 */
export function listQueryKey(query: DoctorListQuery): string {
  return JSON.stringify([
    query.limit,
    query.specialization ?? null,
    query.nameQuery?.toLowerCase() ?? null,
    query.after?.name ?? null,
    query.after?.id ?? null,
  ]);
}

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
const likeLiteral = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Every write records its event in the outbox in the same transaction, and once committed drops
 * every cached doctor list (a new generation of `doctors:all`).
 */
export class DoctorRepository {
  constructor(
    private readonly db: Knex,
    private readonly eventsTopic: string = TOPICS.doctorEvents,
    private readonly lists?: ListCache<DoctorRow[]>,
  ) {}

  async create(name: string, specialization: string): Promise<DoctorRow> {
    const created = await this.db.transaction(async (trx) => {
      const [row] = (await trx<DoctorRow>("doctors").insert({ name, specialization }).returning("*")) as DoctorRow[];
      await writeOutbox(trx, [doctorEvent(this.eventsTopic, "doctor.created", row!)]);
      return row!;
    });
    await this.listsChanged();
    return created;
  }

  async get(id: string): Promise<DoctorRow | undefined> {
    return this.db<DoctorRow>("doctors").where({ id }).first();
  }

  /** Through the `doctors:all` cache when there is one. */
  async list(query: DoctorListQuery): Promise<DoctorRow[]> {
    if (!this.lists) return this.listFromDatabase(query);
    return this.lists.getOrLoad(DOCTORS_NAMESPACE, listQueryKey(query), () => this.listFromDatabase(query));
  }

  private async listFromDatabase(query: DoctorListQuery): Promise<DoctorRow[]> {
    const q = this.db<DoctorRow>("doctors").select("*").orderBy([{ column: "name" }, { column: "id" }]).limit(query.limit);
    if (query.specialization) q.whereRaw("lower(specialization) = lower(?)", [query.specialization]);
    if (query.nameQuery) q.whereRaw("lower(name) LIKE ?", [`%${likeLiteral(query.nameQuery.toLowerCase())}%`]);
    if (query.after) q.whereRaw("(name, id) > (?, ?)", [query.after.name, query.after.id]);
    return q;
  }

  async update(id: string, changes: { name?: string; specialization?: string }): Promise<DoctorRow | undefined> {
    const updated = await this.db.transaction(async (trx) => {
      const rows: DoctorRow[] = await trx("doctors")
        .where({ id })
        .update({ ...changes, updated_at: trx.fn.now() })
        .returning("*");
      if (rows[0]) await writeOutbox(trx, [doctorEvent(this.eventsTopic, "doctor.updated", rows[0])]);
      return rows[0];
    });
    if (updated) await this.listsChanged();
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.transaction(async (trx) => {
      const rows: DoctorRow[] = await trx("doctors").where({ id }).delete().returning("*");
      if (rows[0]) await writeOutbox(trx, [doctorEvent(this.eventsTopic, "doctor.deleted", rows[0])]);
      return rows.length > 0;
    });
    if (deleted) await this.listsChanged();
    return deleted;
  }

  /** After commit, never before: a reader in between would cache the old list again. Never throws. */
  private async listsChanged(): Promise<void> {
    await this.lists?.invalidateAll(DOCTORS_NAMESPACE);
  }
}
