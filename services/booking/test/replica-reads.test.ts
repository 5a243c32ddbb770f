import { randomUUID } from "node:crypto";
import { migrateLatest } from "@clinic/platform/db";
import { createScratchDatabase, expectError, type Fixtures, freePort, type Http, type ScratchDatabase, type Stack, startStackWithFixtures, testLogger } from "@clinic/test-stack";
import { migrations } from "../migrations";
import { decodeBookingId, newBookingId } from "../src/booking-id";
import { BookingShardRepository } from "../src/booking-repository";
import { ensureMonthlyPartitions } from "../src/partitions";
import { bucketOf, ShardMap } from "../src/shard-map";

/**
 * Which reads go to a shard's replica (BOOKING_SHARD_REPLICAS) and which never do, told apart by
 * pointing the replica address at something the primary is not: first a database of its own
 * with the same schema but different rows (what the browsing lists show is then the replica's),
 * then an address where nothing listens (whatever still works never touched the replica).
 */

const SHARDS = 4;
const shardOfDoctor = (doctorId: string): number => ShardMap.roundRobin(SHARDS).shardOf(bucketOf(doctorId));
const ids = (page: { bookings: { id: string }[] }): string[] => page.bookings.map((b) => b.id);

describe("booking reads and replicas", () => {
  describe("a replica with rows of its own", () => {
    let stack: Stack, http: Http, make: Fixtures;
    const replicas: ScratchDatabase[] = [];

    beforeAll(async () => {
      for (let i = 0; i < SHARDS; i++) {
        const db = await createScratchDatabase(`replica_reads_r${i}`);
        replicas.push(db);
        await migrateLatest(db.knex, migrations);
        await ensureMonthlyPartitions(db.knex, testLogger());
      }
      ({ stack, http, make } = await startStackWithFixtures({
        name: "replica_reads",
        booking: { BOOKING_SHARD_REPLICAS: replicas.map((db) => db.name).join(",") },
      }));
    });
    afterAll(async () => {
      await stack?.stop();
      for (const db of replicas) await db.drop();
    });

    it("shows the replica's rows in the browsing lists, and the primary's everywhere else", async () => {
      const doctor = await make.doctor();
      const slot = await make.slot(doctor.id, { capacity: 1 });
      const startTime = new Date(slot.startTime);

      // A booking only the replica has, filling the slot's one seat there: a "replica" that a
      // seat-taking read would believe says the slot is full.
      const replica = new BookingShardRepository(shardOfDoctor(doctor.id), replicas[shardOfDoctor(doctor.id)]!.knex);
      const onlyOnReplica = newBookingId(bucketOf(doctor.id));
      const replicaPatient = randomUUID();
      const held = await replica.create({
        id: onlyOnReplica,
        createdAt: decodeBookingId(onlyOnReplica)!.createdAt,
        slot: { id: slot.id, doctorId: doctor.id, startTime, endTime: new Date(startTime.getTime() + 30 * 60_000), capacity: 1 },
        patientId: replicaPatient,
        patientName: "Only On Replica",
        patientContact: "replica@example.org",
        patientPhone: "",
        holdTtlMs: 600_000,
      });
      expect(held.kind).toBe("created");

      // Seat taking reads the primary, where the seat is free; the idempotency key too: the
      // retry finds the booking the first request made.
      const patientId = randomUUID();
      const key = { "idempotency-key": `replica-${randomUUID()}` };
      const created = await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id), key);
      expect(created.status).toBe(201);
      const retry = await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id), key);
      expect(retry.status).toBe(200);
      expect(retry.body.id).toBe(created.body.id);
      const onPrimary = created.body.id as string;

      // The browsing lists read the replica: its booking, not the primary's.
      expect(ids((await http.get(`/api/v1/doctors/${doctor.id}/bookings`)).body)).toEqual([onlyOnReplica]);
      expect(ids((await http.get(`/api/v1/slots/${slot.id}/bookings`)).body)).toEqual([onlyOnReplica]);
      const all = ids((await http.get("/api/v1/bookings?pageSize=100")).body);
      expect(all).toContain(onlyOnReplica);
      expect(all).not.toContain(onPrimary);

      // A patient's own list and GetBooking read the primary.
      expect(ids((await http.asPatient(patientId).get(`/api/v1/patients/${patientId}/bookings`)).body)).toEqual([onPrimary]);
      expect(ids((await http.asPatient(replicaPatient).get(`/api/v1/patients/${replicaPatient}/bookings`)).body)).toEqual([]);
      expect((await http.get(`/api/v1/bookings/${onPrimary}`)).status).toBe(200);
      expectError(await http.get(`/api/v1/bookings/${onlyOnReplica}`), 404, "BOOKING_NOT_FOUND");
    });
  });

  describe("a replica that cannot be reached", () => {
    let stack: Stack, http: Http, make: Fixtures;

    beforeAll(async () => {
      const nowhere = `127.0.0.1:${await freePort()}/clinic_booking_replica`;
      ({ stack, http, make } = await startStackWithFixtures({
        name: "replica_down",
        booking: { BOOKING_SHARD_REPLICAS: Array.from({ length: SHARDS }, () => nowhere).join(",") },
      }));
    });
    afterAll(() => stack?.stop());

    it("takes seats, answers retries, a patient's own list and GetBooking without it; only the browsing lists fail", async () => {
      const doctor = await make.doctor();
      const slot = await make.slot(doctor.id, { capacity: 2 });
      const patientId = randomUUID();
      const patient = http.asPatient(patientId);
      const key = { "idempotency-key": `down-${randomUUID()}` };

      const created = await patient.post("/api/v1/bookings", make.bookingBody(slot.id), key);
      expect(created.status).toBe(201);
      const retry = await patient.post("/api/v1/bookings", make.bookingBody(slot.id), key);
      expect(retry.status).toBe(200);
      expect(retry.body.id).toBe(created.body.id);
      expectError(await patient.post("/api/v1/bookings", make.bookingBody(slot.id)), 409, "ALREADY_BOOKED");
      expect((await patient.post(`/api/v1/bookings/${created.body.id}/confirm`)).status).toBe(200);
      expect(ids((await patient.get(`/api/v1/patients/${patientId}/bookings`)).body)).toEqual([created.body.id]);
      expect((await http.get(`/api/v1/bookings/${created.body.id}`)).body.status).toBe("confirmed");
      const availability = await http.get(`/api/v1/availability?slotIds=${slot.id}`);
      expect(availability.body.availability[0]).toEqual(expect.objectContaining({ held: 1, remaining: 1 }));

      // The doctor's list reads the replica: unreachable, so the retryable 503.
      expectError(await http.get(`/api/v1/doctors/${doctor.id}/bookings`), 503, "DATABASE_UNAVAILABLE");
    });
  });
});
