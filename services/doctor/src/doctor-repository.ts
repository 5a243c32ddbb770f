import { writeOutbox, type Knex } from "@clinic/platform";
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

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
const likeLiteral = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Every write records its event in the outbox in the same transaction. */
export class DoctorRepository {
  constructor(
    private readonly db: Knex,
    private readonly eventsTopic = "clinic.doctor.events.v1",
  ) {}

  async create(name: string, specialization: string): Promise<DoctorRow> {
    return this.db.transaction(async (trx) => {
      const [row] = (await trx<DoctorRow>("doctors").insert({ name, specialization }).returning("*")) as DoctorRow[];
      await writeOutbox(trx, [doctorEvent(this.eventsTopic, "doctor.created", row!)]);
      return row!;
    });
  }

  async get(id: string): Promise<DoctorRow | undefined> {
    return this.db<DoctorRow>("doctors").where({ id }).first();
  }

  async list(query: DoctorListQuery): Promise<DoctorRow[]> {
    const q = this.db<DoctorRow>("doctors").select("*").orderBy([{ column: "name" }, { column: "id" }]).limit(query.limit);
    if (query.specialization) q.whereRaw("lower(specialization) = lower(?)", [query.specialization]);
    if (query.nameQuery) q.whereRaw("lower(name) LIKE ?", [`%${likeLiteral(query.nameQuery.toLowerCase())}%`]);
    if (query.after) q.whereRaw("(name, id) > (?, ?)", [query.after.name, query.after.id]);
    return q;
  }

  async update(id: string, changes: { name?: string; specialization?: string }): Promise<DoctorRow | undefined> {
    return this.db.transaction(async (trx) => {
      const rows: DoctorRow[] = await trx("doctors")
        .where({ id })
        .update({ ...changes, updated_at: trx.fn.now() })
        .returning("*");
      if (rows[0]) await writeOutbox(trx, [doctorEvent(this.eventsTopic, "doctor.updated", rows[0])]);
      return rows[0];
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const rows: DoctorRow[] = await trx("doctors").where({ id }).delete().returning("*");
      if (rows[0]) await writeOutbox(trx, [doctorEvent(this.eventsTopic, "doctor.deleted", rows[0])]);
      return rows.length > 0;
    });
  }
}
