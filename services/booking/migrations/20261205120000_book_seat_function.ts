import type { Knex, Migration } from "@clinic/platform/db";

/**
 * The booking path's common case as one function, so a booking is one round trip (one prepared
 * statement in autocommit) instead of six (BEGIN, seat, duplicate check, booking, outbox, COMMIT).
 * It runs the very steps of `BookingShardRepository.create`, in the same order, with the same
 * locks: the conditional seat increment locks the slot's inventory row, and only then (each
 * statement of a VOLATILE function taking a fresh snapshot under READ COMMITTED) is the patient's
 * duplicate looked for, so a concurrent booking of the same patient that committed while this one
 * waited for the row lock is seen.
 *
 * Outcomes: `created` (with the row), `already_booked` / `existing` (seat given back in the same
 * transaction, so no reader ever saw it taken), `full` (no seat, and no lapsed hold whose seat
 * could be reclaimed), `retired`, or `no_seat`: no inventory row yet, or full on paper with lapsed
 * holds, which the caller settles in its general transaction (creating the inventory row,
 * reclaiming lapsed holds, whose events need the service's encoder).
 *
 * The outbox rows arrive encoded (the service owns the event schema); the function adds them with
 * the booking and wakes the relays at commit, as `writeOutbox` does.
 */
export const bookSeatFunction: Migration = {
  name: "20261205120000_book_seat_function",
  async up(knex: Knex) {
    await knex.raw(`
      CREATE FUNCTION book_seat(
        p_id uuid, p_created_at timestamptz, p_slot_id uuid, p_doctor_id uuid, p_patient_id uuid,
        p_patient_name text, p_patient_contact text, p_patient_phone text, p_status text,
        p_slot_start_time timestamptz, p_expires_at timestamptz,
        p_topic text, p_event_ids uuid[], p_event_types text[], p_payloads bytea[], p_headers jsonb,
        p_channel text)
      RETURNS TABLE (outcome text, other_id uuid, booking json)
      LANGUAGE plpgsql VOLATILE
      AS $fn$
      DECLARE
        v_row bookings%ROWTYPE;
        v_duplicate uuid;
        v_retired boolean;
      BEGIN
        UPDATE slot_inventory SET held = held + 1, updated_at = now()
         WHERE slot_id = p_slot_id AND held < capacity AND NOT retired;
        IF NOT FOUND THEN
          -- Full, and no lapsed hold to reclaim: refused here, in the same round trip. Otherwise
          -- (no inventory row yet, lapsed holds) the caller's general transaction settles it.
          SELECT i.retired INTO v_retired FROM slot_inventory i WHERE i.slot_id = p_slot_id;
          IF FOUND AND v_retired THEN
            RETURN QUERY SELECT 'retired'::text, NULL::uuid, NULL::json;
          ELSIF FOUND AND NOT EXISTS (SELECT 1 FROM bookings b
                                       WHERE b.slot_id = p_slot_id AND b.status = 'PENDING' AND b.expires_at <= now()) THEN
            RETURN QUERY SELECT 'full'::text, NULL::uuid, NULL::json;
          ELSE
            RETURN QUERY SELECT 'no_seat'::text, NULL::uuid, NULL::json;
          END IF;
          RETURN;
        END IF;

        SELECT b.id INTO v_duplicate FROM bookings b
         WHERE b.slot_id = p_slot_id AND b.patient_id = p_patient_id
           AND (b.status = 'CONFIRMED' OR (b.status = 'PENDING' AND b.expires_at > now()))
         LIMIT 1;
        IF v_duplicate IS NULL THEN
          INSERT INTO bookings AS b (id, created_at, slot_id, doctor_id, patient_id, patient_name, patient_contact,
                                     patient_phone, status, slot_start_time, expires_at)
          VALUES (p_id, p_created_at, p_slot_id, p_doctor_id, p_patient_id, p_patient_name, p_patient_contact,
                  p_patient_phone, p_status, p_slot_start_time, p_expires_at)
          ON CONFLICT ON CONSTRAINT bookings_pkey DO NOTHING
          RETURNING * INTO v_row;
          IF FOUND THEN
            INSERT INTO outbox (event_id, topic, message_key, event_type, payload, headers)
            SELECT e.event_id, p_topic, p_slot_id::text, e.event_type, e.payload, p_headers
              FROM unnest(p_event_ids, p_event_types, p_payloads) WITH ORDINALITY AS e(event_id, event_type, payload, n)
             ORDER BY e.n;
            PERFORM pg_notify(p_channel, '');
            RETURN QUERY SELECT 'created'::text, p_id, row_to_json(v_row);
            RETURN;
          END IF;
          -- A concurrent retry with the same id (an idempotency key) inserted it first.
          v_duplicate := p_id;
        END IF;

        UPDATE slot_inventory SET held = held - 1, updated_at = now() WHERE slot_id = p_slot_id;
        IF v_duplicate = p_id THEN
          RETURN QUERY SELECT 'existing'::text, p_id, row_to_json(b) FROM bookings b WHERE b.id = p_id AND b.created_at = p_created_at;
        ELSE
          RETURN QUERY SELECT 'already_booked'::text, v_duplicate, NULL::json;
        END IF;
      END
      $fn$`);
  },
  async down(knex: Knex) {
    await knex.raw("DROP FUNCTION book_seat(uuid, timestamptz, uuid, uuid, uuid, text, text, text, text, timestamptz, timestamptz, text, uuid[], text[], bytea[], jsonb, text)");
  },
};
