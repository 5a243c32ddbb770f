import type { Knex, Migration } from "@clinic/platform/db";

/**
 * Booking rules per doctor, and the links of a rescheduled booking.
 *
 * `booking_policies` lives in the shard of the doctor's bookings (bookings are sharded by
 * doctor), so the cancellation window is checked in the same statement that cancels: a policy
 * changed a moment ago already applies. A doctor without a row has the service's default.
 *
 * A rescheduled booking is cancelled with `rescheduled_to` naming its successor, which carries
 * `rescheduled_from` and the count of moves so far (capped by RESCHEDULE_MAX).
 *
 * `reschedule_sagas`: a move to another doctor's slot, whose bookings may live in another shard,
 * runs as a saga (src/reschedule-saga.ts); its state is kept in the shard of the booking being
 * moved. One saga in flight per booking (the partial unique index).
 *
 * `waitlist_entries`: patients waiting for a seat of a full slot, first come first served, in the
 * shard of the slot's doctor (src/waitlist.ts). A booking made as a waitlist offer names its entry.
 */
export const bookingPoliciesAndReschedule: Migration = {
  name: "20261212120000_booking_policies_and_reschedule",
  async up(knex: Knex) {
    await knex.raw(`
      CREATE TABLE booking_policies (
        doctor_id uuid PRIMARY KEY,
        cancellation_window_hours integer NOT NULL CONSTRAINT booking_policies_window_range CHECK (cancellation_window_hours BETWEEN 0 AND 720),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await knex.raw(`
      CREATE TABLE reschedule_sagas (
        id uuid PRIMARY KEY,
        booking_id uuid NOT NULL,
        booking_created_at timestamptz NOT NULL,
        new_slot_id uuid NOT NULL,
        state text NOT NULL CONSTRAINT reschedule_sagas_state_valid CHECK (state IN ('seat_requested', 'old_released', 'done', 'failed')),
        failure text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await knex.raw("CREATE UNIQUE INDEX reschedule_sagas_one_in_flight ON reschedule_sagas (booking_id) WHERE state IN ('seat_requested', 'old_released')");
    await knex.raw(`
      CREATE TABLE waitlist_entries (
        id uuid PRIMARY KEY,
        slot_id uuid NOT NULL,
        patient_id uuid NOT NULL,
        patient_name text NOT NULL,
        patient_contact text NOT NULL,
        patient_phone text NOT NULL DEFAULT '',
        state text NOT NULL CONSTRAINT waitlist_entries_state_valid CHECK (state IN ('waiting', 'offered', 'left', 'skipped')),
        offer_booking_id uuid,
        joined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Once per slot while waiting; the queue in order.
    await knex.raw("CREATE UNIQUE INDEX waitlist_entries_once_per_slot ON waitlist_entries (slot_id, patient_id) WHERE state = 'waiting'");
    await knex.raw("CREATE INDEX waitlist_entries_queue ON waitlist_entries (slot_id, joined_at, id) WHERE state = 'waiting'");
    await knex.raw("CREATE INDEX waitlist_entries_patient ON waitlist_entries (patient_id, joined_at DESC)");
    for (const table of ["bookings", "bookings_archive"]) {
      await knex.raw(`
        ALTER TABLE ${table}
          ADD COLUMN reschedule_count integer NOT NULL DEFAULT 0,
          ADD COLUMN rescheduled_from uuid,
          ADD COLUMN rescheduled_to uuid,
          ADD COLUMN waitlist_entry_id uuid`);
    }
  },
  async down(knex: Knex) {
    for (const table of ["bookings", "bookings_archive"]) {
      await knex.raw(`ALTER TABLE ${table} DROP COLUMN reschedule_count, DROP COLUMN rescheduled_from, DROP COLUMN rescheduled_to, DROP COLUMN waitlist_entry_id`);
    }
    await knex.raw("DROP TABLE waitlist_entries");
    await knex.raw("DROP TABLE reschedule_sagas");
    await knex.raw("DROP TABLE booking_policies");
  },
};
