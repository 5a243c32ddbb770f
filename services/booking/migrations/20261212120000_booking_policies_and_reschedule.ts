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
    await knex.raw("DROP TABLE booking_policies");
  },
};
