import type { Knex, Migration } from "@clinic/platform/db";
import { createOutboxTable, dropOutboxTable } from "@clinic/platform/outbox";

/**
 * One booking shard: seat inventory per slot, bookings partitioned by month of creation, the
 * idempotency keys routed to this shard, and the transactional outbox.
 */
export const createBookingShard: Migration = {
  name: "20261130170000_create_booking_shard",
  async up(knex: Knex) {
    // The seat counter the booking path updates atomically: `held` never exceeds `capacity`,
    // and the database refuses any write that would break that, whatever the code does.
    await knex.raw(`
      CREATE TABLE slot_inventory (
        slot_id uuid NOT NULL,
        doctor_id uuid NOT NULL,
        start_time timestamptz NOT NULL,
        end_time timestamptz NOT NULL,
        capacity integer NOT NULL,
        held integer NOT NULL DEFAULT 0,
        retired boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT slot_inventory_pkey PRIMARY KEY (slot_id),
        CONSTRAINT slot_inventory_capacity_non_negative CHECK (capacity >= 0),
        CONSTRAINT slot_inventory_held_non_negative CHECK (held >= 0),
        CONSTRAINT slot_inventory_held_within_capacity CHECK (held <= capacity),
        CONSTRAINT slot_inventory_time_order CHECK (start_time < end_time)
      )`);
    await knex.raw("CREATE INDEX slot_inventory_doctor_end_idx ON slot_inventory (doctor_id, end_time)");

    await knex.raw(`
      CREATE TABLE bookings (
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
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT bookings_pkey PRIMARY KEY (id, created_at),
        CONSTRAINT bookings_status_valid CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'EXPIRED'))
      ) PARTITION BY RANGE (created_at)`);
    // Rows outside every monthly partition land here rather than failing the booking; the
    // partition maintenance job keeps it empty by creating months ahead of time.
    await knex.raw("CREATE TABLE bookings_default PARTITION OF bookings DEFAULT");
    await knex.raw("CREATE INDEX bookings_slot_status_idx ON bookings (slot_id, status)");
    await knex.raw("CREATE INDEX bookings_patient_created_idx ON bookings (patient_id, created_at DESC, id DESC)");
    await knex.raw("CREATE INDEX bookings_doctor_created_idx ON bookings (doctor_id, created_at DESC, id DESC)");
    await knex.raw("CREATE INDEX bookings_created_idx ON bookings (created_at DESC, id DESC)");
    await knex.raw("CREATE INDEX bookings_pending_expiry_idx ON bookings (expires_at) WHERE status = 'PENDING'");

    await knex.raw(`
      CREATE TABLE idempotency_keys (
        patient_id uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        booking_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT idempotency_keys_pkey PRIMARY KEY (patient_id, key)
      )`);
    await knex.raw("CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)");

    await createOutboxTable(knex);
  },
  async down(knex: Knex) {
    await dropOutboxTable(knex);
    await knex.raw("DROP TABLE idempotency_keys");
    await knex.raw("DROP TABLE bookings"); // drops its partitions too
    await knex.raw("DROP TABLE slot_inventory");
  },
};
