import type { Knex, Migration } from "@clinic/platform/db";

export const createSlots: Migration = {
  name: "20261130170000_create_slots",
  async up(knex: Knex) {
    // Trusted extension: the database owner may create it. It gives uuid an equality operator
    // class for GiST, which the exclusion constraint below needs to combine doctor_id with a range.
    await knex.raw("CREATE EXTENSION IF NOT EXISTS btree_gist");
    // Overlapping slots of one doctor are refused here rather than by a read-then-insert in the
    // service: two concurrent creates cannot both pass the check, and no code path can skip it.
    // tstzrange(start, end) is half-open ('[)'), so back-to-back slots (10:00-10:30, 10:30-11:00)
    // do not overlap.
    await knex.raw(`
      CREATE TABLE slots (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        doctor_id uuid NOT NULL,
        start_time timestamptz NOT NULL,
        end_time timestamptz NOT NULL,
        capacity integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT slots_pkey PRIMARY KEY (id),
        CONSTRAINT slots_start_before_end CHECK (start_time < end_time),
        CONSTRAINT slots_length_max_24h CHECK (end_time - start_time <= interval '24 hours'),
        CONSTRAINT slots_capacity_range CHECK (capacity BETWEEN 1 AND 1000),
        CONSTRAINT slots_no_overlap EXCLUDE USING gist (doctor_id WITH =, tstzrange(start_time, end_time) WITH &&)
      )`);
    // ListSlots: one doctor's slots by start time, keyset-paginated on (start_time, id).
    await knex.raw("CREATE INDEX slots_doctor_id_start_time_id_idx ON slots (doctor_id, start_time, id)");
  },
  async down(knex: Knex) {
    await knex.raw("DROP TABLE slots");
    await knex.raw("DROP EXTENSION IF EXISTS btree_gist");
  },
};
