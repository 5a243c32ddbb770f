import type { Pool, PoolClient } from "pg";
import type { Outcome } from "../stats";
import { failure, type Patient, type SlotRef, type Target } from "./target";

/** The seed's tables live in their own schema of one shard database, apart from the service's. */
export const BASELINE_SCHEMA = "seed_baseline";
const S = BASELINE_SCHEMA;

/**
 * The schema of section 3.1 of the design document, verbatim but for the schema prefix and the
 * `booking_status` type the document uses without defining.
 */
const DDL = [
  `DROP SCHEMA IF EXISTS ${S} CASCADE`,
  `CREATE SCHEMA ${S}`,
  `CREATE TYPE ${S}.booking_status AS ENUM ('PENDING', 'CONFIRMED', 'CANCELLED')`,
  `CREATE TABLE ${S}.doctors (
     id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
     name VARCHAR(255) NOT NULL,
     specialization VARCHAR(255) NOT NULL,
     created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
  `CREATE TABLE ${S}.slots (
     id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
     doctor_id UUID NOT NULL REFERENCES ${S}.doctors(id) ON DELETE CASCADE,
     start_time TIMESTAMP NOT NULL,
     end_time TIMESTAMP NOT NULL,
     capacity INT NOT NULL CHECK (capacity > 0),
     created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
     CONSTRAINT valid_time CHECK (start_time < end_time))`,
  `CREATE TABLE ${S}.bookings (
     id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
     slot_id UUID NOT NULL REFERENCES ${S}.slots(id) ON DELETE CASCADE,
     patient_name VARCHAR(255) NOT NULL,
     patient_contact VARCHAR(20) NOT NULL,
     status ${S}.booking_status DEFAULT 'PENDING',
     created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
     updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
  `CREATE INDEX idx_bookings_slot_status ON ${S}.bookings(slot_id, status)`,
  `CREATE INDEX idx_slots_doctor ON ${S}.slots(doctor_id)`,
  `CREATE INDEX idx_bookings_created ON ${S}.bookings(created_at)`,
];

export interface BaselineDoctor {
  id: string;
  name: string;
  specialization: string;
}

/** Recreates the seed's tables and loads the run's doctors and slots (the same ids as the API's). */
export async function setUpBaseline(pool: Pool, doctors: readonly BaselineDoctor[], slots: readonly SlotRef[]): Promise<void> {
  for (const statement of DDL) await pool.query(statement);
  await pool.query(
    `INSERT INTO ${S}.doctors (id, name, specialization) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`,
    [doctors.map((d) => d.id), doctors.map((d) => d.name), doctors.map((d) => d.specialization)],
  );
  await pool.query(
    `INSERT INTO ${S}.slots (id, doctor_id, start_time, end_time, capacity)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::int[])`,
    [slots.map((s) => s.id), slots.map((s) => s.doctorId), slots.map((s) => s.startTime), slots.map((s) => s.endTime), slots.map((s) => s.capacity)],
  );
  await pool.query(`ANALYZE ${S}.slots`);
}

const ACTIVE = `status IN ('PENDING', 'CONFIRMED')`;

/**
 * Mode (c): section 4.1 of the design document, "Row-Level Locking (Current Implementation)",
 * from a Node pg pool the way the seed's Express app would run it: READ COMMITTED,
 * `SELECT ... FOR UPDATE` on the slot, `COUNT(*)` of its active bookings, insert if below
 * capacity. Named statements, so PostgreSQL plans once, as pgbench's `-M prepared` does for ours.
 * No HTTP or service layer: this is an upper bound for the seed's app.
 */
export class BaselineTarget implements Target {
  constructor(private readonly pool: Pool) {}

  private async transaction(work: (client: PoolClient) => Promise<Outcome>): Promise<Outcome> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      const outcome = await work(client);
      await client.query(outcome.ok ? "COMMIT" : "ROLLBACK");
      return outcome;
    } catch (err) {
      await client?.query("ROLLBACK").catch(() => undefined);
      return failure(err);
    } finally {
      client?.release();
    }
  }

  hold(slot: SlotRef, patient: Patient): Promise<Outcome> {
    return this.transaction(async (client) => {
      const locked = await client.query<{ capacity: number }>({
        name: "seed_lock_slot",
        text: `SELECT * FROM ${S}.slots WHERE id = $1 FOR UPDATE`,
        values: [slot.id],
      });
      const row = locked.rows[0];
      if (!row) return { ok: false, status: "404 SLOT_NOT_FOUND" };
      const counted = await client.query<{ n: number }>({
        name: "seed_count_active",
        text: `SELECT COUNT(*)::int AS n FROM ${S}.bookings WHERE slot_id = $1 AND ${ACTIVE}`,
        values: [slot.id],
      });
      if ((counted.rows[0]?.n ?? 0) >= row.capacity) return { ok: false, status: "409 SLOT_FULL" };
      const inserted = await client.query<{ id: string }>({
        name: "seed_insert_booking",
        text: `INSERT INTO ${S}.bookings (slot_id, patient_name, patient_contact) VALUES ($1, $2, $3) RETURNING id`,
        values: [slot.id, patient.name, patient.contact.slice(0, 20)],
      });
      return { ok: true, status: "201", bookingId: inserted.rows[0]!.id };
    });
  }

  /** The seed has no guarded transitions beyond a status check; this is the obvious one. */
  private transition(name: string, to: "CONFIRMED" | "CANCELLED", from: string, bookingId: string): Promise<Outcome> {
    return this.transaction(async (client) => {
      const res = await client.query({
        name,
        text: `UPDATE ${S}.bookings SET status = '${to}', updated_at = now() WHERE id = $1 AND status IN (${from}) RETURNING id`,
        values: [bookingId],
      });
      return res.rowCount === 1 ? { ok: true, status: "200", bookingId } : { ok: false, status: "409 WRONG_STATE" };
    });
  }

  confirm(bookingId: string): Promise<Outcome> {
    return this.transition("seed_confirm", "CONFIRMED", "'PENDING'", bookingId);
  }

  cancel(bookingId: string): Promise<Outcome> {
    return this.transition("seed_cancel", "CANCELLED", "'PENDING', 'CONFIRMED'", bookingId);
  }

  private async read(name: string, text: string, values: unknown[]): Promise<Outcome> {
    try {
      await this.pool.query({ name, text, values });
      return { ok: true, status: "200" };
    } catch (err) {
      return failure(err);
    }
  }

  listDoctors(): Promise<Outcome> {
    return this.read("seed_list_doctors", `SELECT * FROM ${S}.doctors ORDER BY name, id LIMIT 20`, []);
  }

  listSlots(doctorId: string): Promise<Outcome> {
    return this.read("seed_list_slots", `SELECT * FROM ${S}.slots WHERE doctor_id = $1 ORDER BY start_time LIMIT 20`, [doctorId]);
  }

  availability(slotIds: readonly string[]): Promise<Outcome> {
    return this.read(
      "seed_availability",
      `SELECT s.id, s.capacity, (SELECT COUNT(*) FROM ${S}.bookings b WHERE b.slot_id = s.id AND b.${ACTIVE}) AS held
         FROM ${S}.slots s WHERE s.id = ANY($1::uuid[])`,
      [[...slotIds]],
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
