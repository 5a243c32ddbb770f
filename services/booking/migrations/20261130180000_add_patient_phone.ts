import type { Knex, Migration } from "@clinic/platform/db";

/** An optional phone number for text messages, beside the primary contact. */
export const addPatientPhone: Migration = {
  name: "20261130180000_add_patient_phone",
  async up(knex: Knex) {
    await knex.raw("ALTER TABLE bookings ADD COLUMN patient_phone text NOT NULL DEFAULT ''");
  },
  async down(knex: Knex) {
    await knex.raw("ALTER TABLE bookings DROP COLUMN patient_phone");
  },
};
