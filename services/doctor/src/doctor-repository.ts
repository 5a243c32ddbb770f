import type { Knex } from "@clinic/platform";

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

export class DoctorRepository {
  constructor(private readonly db: Knex) {}

  async create(name: string, specialization: string): Promise<DoctorRow> {
    const [row] = await this.db<DoctorRow>("doctors").insert({ name, specialization }).returning("*");
    return row as DoctorRow;
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
    const rows: DoctorRow[] = await this.db("doctors")
      .where({ id })
      .update({ ...changes, updated_at: this.db.fn.now() })
      .returning("*");
    return rows[0];
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db("doctors").where({ id }).delete()) > 0;
  }
}
