import type { Knex, Migration } from "@clinic/platform/db";

/**
 * The archive of old, finished bookings (src/archive.ts moves them here from the partitioned
 * hot table). Keyed by id alone: a booking id is unique on its own (UUIDv7), and a lookup of an
 * archived booking by id needs no partition key.
 */
export const createBookingsArchive: Migration = {
  name: "20261210120000_create_bookings_archive",
  async up(knex: Knex) {
    await knex.raw(`
      CREATE TABLE bookings_archive (
        id uuid NOT NULL,
        created_at timestamptz NOT NULL,
        slot_id uuid NOT NULL,
        doctor_id uuid NOT NULL,
        patient_id uuid NOT NULL,
        patient_name text NOT NULL,
        patient_contact text NOT NULL,
        status text NOT NULL,
        slot_start_time timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        patient_phone text NOT NULL DEFAULT '',
        archived_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT bookings_archive_pkey PRIMARY KEY (id),
        CONSTRAINT bookings_archive_status_valid CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'EXPIRED'))
      )`);
    // A patient's history reads the archive with the same order and cursor as the hot table.
    await knex.raw("CREATE INDEX bookings_archive_patient_created_idx ON bookings_archive (patient_id, created_at DESC, id DESC)");
  },
  async down(knex: Knex) {
    await knex.raw("DROP TABLE bookings_archive");
  },
};
