import type { Knex, Migration } from "@clinic/platform";

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
    for (const table of ["bookings", "bookings_archive"]) {
      await knex.raw(`
        ALTER TABLE ${table}
          ADD COLUMN reschedule_count integer NOT NULL DEFAULT 0,
          ADD COLUMN rescheduled_from uuid,
          ADD COLUMN rescheduled_to uuid`);
    }
  },
  async down(knex: Knex) {
    for (const table of ["bookings", "bookings_archive"]) {
      await knex.raw(`ALTER TABLE ${table} DROP COLUMN reschedule_count, DROP COLUMN rescheduled_from, DROP COLUMN rescheduled_to`);
    }
    await knex.raw("DROP TABLE reschedule_sagas");
    await knex.raw("DROP TABLE booking_policies");
  },
};
