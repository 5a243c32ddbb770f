import type { Knex, Migration } from "@clinic/platform/db";

export const createDoctors: Migration = {
  name: "20261130160000_create_doctors",
  async up(knex: Knex) {
    // Trusted extension: the database owner may create it. Powers the name search index.
    await knex.raw("CREATE EXTENSION IF NOT EXISTS pg_trgm");
    await knex.raw(`
      CREATE TABLE doctors (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        specialization text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT doctors_pkey PRIMARY KEY (id),
        CONSTRAINT doctors_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
        CONSTRAINT doctors_specialization_length CHECK (char_length(specialization) BETWEEN 1 AND 100)
      )`);
    // Listing pages by (name, id); a specialization filter uses the second index.
    await knex.raw("CREATE INDEX doctors_name_id_idx ON doctors (name, id)");
    await knex.raw("CREATE INDEX doctors_specialization_name_id_idx ON doctors (lower(specialization), name, id)");
    await knex.raw("CREATE INDEX doctors_name_trgm_idx ON doctors USING gin (lower(name) gin_trgm_ops)");
  },
  async down(knex: Knex) {
    await knex.raw("DROP TABLE doctors");
    await knex.raw("DROP EXTENSION IF EXISTS pg_trgm");
  },
};
