import { randomUUID } from "node:crypto";
import { expectError, Fixtures, Http, type Stack, startStackWithFixtures, testLogger } from "@clinic/test-stack";
import { archiveOldBookings } from "../src/archive";

/**
 * The booking lifecycle through the edge over the real services: hold, confirm, cancel, the
 * state conflicts, one active booking per patient and slot, lists, and idempotent retries.
 */
describe("bookings through the edge", () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_bookings" })));
  afterAll(() => stack?.stop());

  const availability = async (slotId: string) => {
    const res = await http.get(`/api/v1/availability?slotIds=${slotId}`);
    expect(res.status).toBe(200);
    return res.body.availability[0] as { slotId: string; capacity: number; held: number; remaining: number };
  };

  describe("lifecycle", () => {
    it("holds a seat, confirms once, then cancels and gives the seat back", async () => {
      const doctor = await make.doctor();
      const slot = await make.slot(doctor.id, { capacity: 2 });
      const patientId = randomUUID();
      const before = Date.now();

      const created = await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id));
      expect(created.status).toBe(201);
      const booking = created.body;
      expect(booking).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        slotId: slot.id,
        doctorId: doctor.id,
        patientId,
        patientName: "Pat Patient",
        patientContact: "pat@example.org",
        status: "pending",
        createTime: expect.stringMatching(/Z$/),
        updateTime: expect.stringMatching(/Z$/),
        expireTime: expect.stringMatching(/Z$/),
        slotStartTime: slot.startTime,
        cancellationWindowHours: 24,
        cancelDeadline: new Date(Date.parse(slot.startTime) - 24 * 3_600_000).toISOString(),
        rescheduleCount: 0,
      });
      expect(Date.parse(booking.expireTime)).toBeGreaterThan(before);
      expect(created.headers.get("location")).toBe(`/api/v1/bookings/${booking.id}`);
      expect((await http.get(`/api/v1/bookings/${booking.id}`)).body).toEqual(booking);
      expect(await availability(slot.id)).toEqual({ slotId: slot.id, capacity: 2, held: 1, remaining: 1 });

      const confirmed = await http.post(`/api/v1/bookings/${booking.id}/confirm`);
      expect(confirmed.status).toBe(200);
      expect(confirmed.body).toEqual(expect.objectContaining({ id: booking.id, status: "confirmed" }));
      expectError(await http.post(`/api/v1/bookings/${booking.id}/confirm`), 409, "BOOKING_ALREADY_CONFIRMED");
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1, remaining: 1 }));

      const cancelled = await http.post(`/api/v1/bookings/${booking.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe("cancelled");
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 0, remaining: 2 }));
      expectError(await http.post(`/api/v1/bookings/${booking.id}/cancel`), 409, "BOOKING_ALREADY_CANCELLED");
      expectError(await http.post(`/api/v1/bookings/${booking.id}/confirm`), 409, "BOOKING_CANCELLED");
    });

    it("accepts confirm with an empty JSON body, as some clients send", async () => {
      const slot = await make.slot((await make.doctor()).id);
      const { body: booking } = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
      const res = await http.request("POST", `/api/v1/bookings/${booking.id}/confirm`, { body: "", headers: { "content-type": "application/json" } });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe("confirmed");
    });

    it("answers SLOT_FULL when no seat is left, and a cancelled seat can be taken again", async () => {
      const slot = await make.slot((await make.doctor()).id, { capacity: 1 });
      const first = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
      expect(first.status).toBe(201);
      const waiting = randomUUID();
      expectError(await http.asPatient(waiting).post("/api/v1/bookings", make.bookingBody(slot.id)), 409, "SLOT_FULL");
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1, remaining: 0 }));

      expect((await http.post(`/api/v1/bookings/${first.body.id}/cancel`)).status).toBe(200);
      const second = await http.asPatient(waiting).post("/api/v1/bookings", make.bookingBody(slot.id));
      expect(second.status).toBe(201);
      expect(second.body.patientId).toBe(waiting);
    });

    it("lets a patient hold only one active booking per slot", async () => {
      const slot = await make.slot((await make.doctor()).id, { capacity: 5 });
      const patientId = randomUUID();
      const first = await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id));
      expect(first.status).toBe(201);
      expectError(await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id)), 409, "ALREADY_BOOKED");
      expect((await http.post(`/api/v1/bookings/${first.body.id}/confirm`)).status).toBe(200);
      expectError(await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id)), 409, "ALREADY_BOOKED");
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1 }));

      // Once cancelled, the patient may book the slot again.
      expect((await http.post(`/api/v1/bookings/${first.body.id}/cancel`)).status).toBe(200);
      expect((await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id))).status).toBe(201);
    });

    it("refuses a slot that has already started with 422", async () => {
      const doctor = await make.doctor();
      // Slots cannot be published in the past, so publish one that starts in a moment.
      const start = new Date(Date.now() + 1_500);
      const slot = await make.slot(doctor.id, { start, capacity: 3 });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, start.getTime() - Date.now()) + 200));
      expectError(await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id)), 422, "SLOT_IN_PAST");
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 0, remaining: 3 }));
    });

    it("answers 404 for unknown slots and bookings", async () => {
      expectError(await http.asPatient().post("/api/v1/bookings", make.bookingBody(randomUUID())), 404, "SLOT_NOT_FOUND");
      const unknown = randomUUID();
      expectError(await http.get(`/api/v1/bookings/${unknown}`), 404, "BOOKING_NOT_FOUND");
      expectError(await http.post(`/api/v1/bookings/${unknown}/confirm`), 404, "BOOKING_NOT_FOUND");
      expectError(await http.post(`/api/v1/bookings/${unknown}/cancel`), 404, "BOOKING_NOT_FOUND");
      const missing = await http.get(`/api/v1/availability?slotIds=${unknown}`);
      expect(missing.body).toEqual({ availability: [], missingSlotIds: [unknown] });
    });

    it("lists bookings by patient, slot and doctor, filtered by status", async () => {
      const doctor = await make.doctor();
      const [slotA, slotB] = [await make.slot(doctor.id, { capacity: 3 }), await make.slot(doctor.id, { capacity: 3 })];
      const patient = randomUUID();
      const mine1 = (await http.asPatient(patient).post("/api/v1/bookings", make.bookingBody(slotA.id))).body;
      const mine2 = (await http.asPatient(patient).post("/api/v1/bookings", make.bookingBody(slotB.id))).body;
      const other = (await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slotA.id))).body;
      await http.post(`/api/v1/bookings/${mine2.id}/confirm`);

      const ids = (res: { body: { bookings: { id: string }[] } }) => res.body.bookings.map((b) => b.id).sort();
      expect(ids(await http.get(`/api/v1/patients/${patient}/bookings`))).toEqual([mine1.id, mine2.id].sort());
      expect(ids(await http.get(`/api/v1/slots/${slotA.id}/bookings`))).toEqual([mine1.id, other.id].sort());
      expect(ids(await http.get(`/api/v1/doctors/${doctor.id}/bookings`))).toEqual([mine1.id, mine2.id, other.id].sort());
      expect(ids(await http.get(`/api/v1/doctors/${doctor.id}/bookings?status=confirmed`))).toEqual([mine2.id]);
      expect(ids(await http.get(`/api/v1/patients/${patient}/bookings?status=pending&status=cancelled`))).toEqual([mine1.id]);
      const page = await http.get(`/api/v1/doctors/${doctor.id}/bookings?pageSize=2`);
      expect(page.body.bookings).toHaveLength(2);
      expect(typeof page.body.nextPageToken).toBe("string");
      const rest = await http.get(`/api/v1/doctors/${doctor.id}/bookings?pageSize=2&pageToken=${encodeURIComponent(page.body.nextPageToken)}`);
      expect(rest.body.bookings).toHaveLength(1);
      expect(rest.body.nextPageToken).toBeUndefined();
    });
  });

  describe("idempotent retries", () => {
    it("answers a retry with the same key and body with the same booking, holding one seat", async () => {
      const slot = await make.slot((await make.doctor()).id, { capacity: 3 });
      const body = make.bookingBody(slot.id);
      const patient = http.asPatient();
      const key = { "idempotency-key": `retry-${randomUUID()}` };

      const first = await patient.post("/api/v1/bookings", body, key);
      expect(first.status).toBe(201);
      const retry = await patient.post("/api/v1/bookings", body, key);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1, remaining: 2 }));
    });

    it("refuses the same key with a different body with 422", async () => {
      const slot = await make.slot((await make.doctor()).id, { capacity: 3 });
      const patientId = randomUUID();
      const key = { "idempotency-key": `reuse-${randomUUID()}` };
      expect((await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id), key)).status).toBe(201);
      const changed = await http.asPatient(patientId).post("/api/v1/bookings", make.bookingBody(slot.id, { patientName: "Someone Else" }), key);
      expectError(changed, 422, "IDEMPOTENCY_KEY_REUSED");
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1 }));
    });

    it("gives concurrent retries of one request one booking and never a server error", async () => {
      const slot = await make.slot((await make.doctor()).id, { capacity: 3 });
      const body = make.bookingBody(slot.id);
      const patient = http.asPatient();
      const key = { "idempotency-key": `burst-${randomUUID()}` };
      const answers = await Promise.all(Array.from({ length: 20 }, () => patient.post("/api/v1/bookings", body, key)));
      // Exactly one request created the booking. The others, racing it, either answer the same
      // booking or a conflict that names it; none may fail with a 5xx or create a second one.
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      const created = answers.find((a) => a.status === 201)!.body;
      for (const answer of answers) {
        if (answer.status === 200 || answer.status === 201) expect(answer.body.id).toBe(created.id);
        else expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 409, code: "ALREADY_BOOKED" });
      }
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1 }));
      // A retry once the first request is done answers the original booking.
      const later = await patient.post("/api/v1/bookings", body, key);
      expect({ status: later.status, id: later.body.id }).toEqual({ status: 200, id: created.id });
    });

    it("keeps a retried booking's later state (a retry after confirm answers the confirmed booking)", async () => {
      const slot = await make.slot((await make.doctor()).id, { capacity: 3 });
      const body = make.bookingBody(slot.id);
      const patient = http.asPatient();
      const key = { "idempotency-key": `later-${randomUUID()}` };
      const first = await patient.post("/api/v1/bookings", body, key);
      await patient.post(`/api/v1/bookings/${first.body.id}/confirm`);
      const retry = await patient.post("/api/v1/bookings", body, key);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(expect.objectContaining({ id: first.body.id, status: "confirmed" }));
      expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1 }));
    });
  });

  it("keeps instants exact to the second, in UTC", async () => {
    const doctor = await make.doctor();
    const start = new Date(Date.now() + 5 * 86_400_000);
    start.setUTCSeconds(0, 0);
    const slot = await make.slot(doctor.id, { start, minutes: 15 });
    const { body } = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
    expect(body.slotStartTime).toBe(start.toISOString());
    expect(slot.startTime).toBe(start.toISOString());
  });

  // Last in this file: archival moves every finished booking of the shard, other tests' too.
  it("answers an archived booking by id and in the patient's history, and keeps active ones hot", async () => {
    const doctor = await make.doctor();
    const [finishedSlot, activeSlot] = [await make.slot(doctor.id), await make.slot(doctor.id)];
    const patientId = randomUUID();
    const patient = http.asPatient(patientId);
    const finished = (await patient.post("/api/v1/bookings", make.bookingBody(finishedSlot.id))).body;
    const cancelled = (await patient.post(`/api/v1/bookings/${finished.id}/cancel`)).body;
    const active = (await patient.post("/api/v1/bookings", make.bookingBody(activeSlot.id))).body;
    await patient.post(`/api/v1/bookings/${active.id}/confirm`);
    const history = async () => (await patient.get(`/api/v1/patients/${patientId}/bookings`)).body.bookings.map((b: { id: string }) => b.id).sort();
    const before = await history();

    // Seven months from now, bookings made today are past the six-month line.
    const shard = stack.booking.router.forDoctor(doctor.id);
    const sevenMonthsOn = new Date(Date.now() + 7 * 31 * 86_400_000);
    const { moved } = await archiveOldBookings(shard.db, testLogger(), { now: sevenMonthsOn, afterMonths: 6 });
    expect(moved).toBeGreaterThanOrEqual(1);
    const where = async (id: string) => ({
      hot: Number((await shard.db("bookings").where({ id }).count<{ n: string }[]>({ n: "*" }))[0]!.n),
      archived: Number((await shard.db("bookings_archive").where({ id }).count<{ n: string }[]>({ n: "*" }))[0]!.n),
    });
    expect(await where(finished.id)).toEqual({ hot: 0, archived: 1 });
    // A confirmed booking for a slot still ahead is active: it never moves.
    expect(await where(active.id)).toEqual({ hot: 1, archived: 0 });

    const byId = await patient.get(`/api/v1/bookings/${finished.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual(cancelled);
    expect(await history()).toEqual(before);
    expect(before).toEqual([finished.id, active.id].sort());
    // The archived booking stays what it was: cancelling it again is the same conflict as before.
    expectError(await patient.post(`/api/v1/bookings/${finished.id}/cancel`), 409, "BOOKING_ALREADY_CANCELLED");
  });
});
