import { randomUUID } from "node:crypto";
import { createKafka } from "@clinic/platform/kafka";
import {
  eventually, expectError, Fixtures, hoursAhead, Http, type Stack, stackEnv, startStackWithFixtures, testLogger,
} from "@clinic/test-stack";
import { RescheduleConsumer } from "../src/reschedule-consumer";
import { RescheduleSaga } from "../src/reschedule-saga";

/**
 * The cancellation window (per doctor, default CANCELLATION_WINDOW_HOURS = 24) and rescheduling
 * through the edge over the real services: who is bound by the window, the deadline on the
 * booking and in the refusal, and a move that takes the new seat and gives the old one back in
 * one step or changes nothing, under races.
 */
describe("cancellation window and reschedule", () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_reschedule" })));
  afterAll(() => stack?.stop());

  const held = async (slotId: string): Promise<number> => (await http.get(`/api/v1/availability?slotIds=${slotId}`)).body.availability[0].held;
  const put = (as: Http, doctorId: string, hours: number | null) => as.request("PUT", `/api/v1/doctors/${doctorId}/booking-policy`, { json: { cancellationWindowHours: hours } });

  /** A confirmed booking of a new patient on a new slot starting `hours` from now. */
  async function confirmedBooking(doctorId: string, hours: number, capacity = 2) {
    const slot = await make.slot(doctorId, { start: hoursAhead(hours), capacity });
    const patient = http.asPatient();
    const created = await patient.post("/api/v1/bookings", make.bookingBody(slot.id));
    expect(created.status).toBe(201);
    const confirmed = await patient.post(`/api/v1/bookings/${created.body.id}/confirm`);
    expect(confirmed.status).toBe(200);
    return { slot, patient, booking: confirmed.body };
  }

  describe("cancellation window", () => {
    it("shows the doctor's window and deadline on the booking, and refuses a patient's late cancel with the deadline", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 10);
      // The default window: 24 h.
      expect(booking.cancellationWindowHours).toBe(24);
      expect(booking.cancelDeadline).toBe(new Date(Date.parse(slot.startTime) - 24 * 3_600_000).toISOString());

      const refused = await patient.post(`/api/v1/bookings/${booking.id}/cancel`);
      const error = expectError(refused, 409, "CANCELLATION_TOO_LATE");
      expect(refused.body.error.info).toEqual({ cancelDeadline: booking.cancelDeadline, cancellationWindowHours: "24" });
      expect(error.message).toContain(booking.cancelDeadline);
      expect((await http.get(`/api/v1/bookings/${booking.id}`)).body.status).toBe("confirmed");
      expect(await held(slot.id)).toBe(1);

      // The doctor of the slot still can, and the seat comes back.
      const byDoctor = await http.as({ role: "doctor", accountId: randomUUID(), doctorId: doctor.id }).post(`/api/v1/bookings/${booking.id}/cancel`);
      expect(byDoctor.status).toBe(200);
      expect(byDoctor.body.status).toBe("cancelled");
      expect(await held(slot.id)).toBe(0);
    });

    it("lets admins cancel late, and a patient let go of a pending hold whatever the window", async () => {
      const doctor = await make.doctor();
      const { booking } = await confirmedBooking(doctor.id, 3);
      expect((await http.post(`/api/v1/bookings/${booking.id}/cancel`)).status).toBe(200);

      const slot = await make.slot(doctor.id, { start: hoursAhead(2) });
      const patient = http.asPatient();
      const hold = (await patient.post("/api/v1/bookings", make.bookingBody(slot.id))).body;
      expect(hold.status).toBe("pending");
      expect((await patient.post(`/api/v1/bookings/${hold.id}/cancel`)).status).toBe(200);
    });

    it("follows the doctor's own rule at once, set by the doctor and read by anyone; another doctor cannot set it", async () => {
      const doctor = await make.doctor();
      const asDoctor = http.as({ role: "doctor", accountId: randomUUID(), doctorId: doctor.id });
      expect((await http.anonymous().get(`/api/v1/doctors/${doctor.id}/booking-policy`)).body).toEqual({ doctorId: doctor.id, cancellationWindowHours: 24, custom: false });

      const { patient, booking } = await confirmedBooking(doctor.id, 10);
      expectError(await patient.post(`/api/v1/bookings/${booking.id}/cancel`), 409, "CANCELLATION_TOO_LATE");
      const set = await put(asDoctor, doctor.id, 6);
      expect(set.status).toBe(200);
      expect(set.body).toEqual({ doctorId: doctor.id, cancellationWindowHours: 6, custom: true });
      // Checked in the cancel's own statement: no cache stands between the rule and the check.
      const cancelled = await patient.post(`/api/v1/bookings/${booking.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.cancellationWindowHours).toBe(6);

      const other = http.as({ role: "doctor", accountId: randomUUID(), doctorId: randomUUID() });
      expect((await put(other, doctor.id, 0)).status).toBe(403);
      expect((await put(http.asPatient(), doctor.id, 0)).status).toBe(403);
      expect((await put(asDoctor, doctor.id, null)).body).toEqual({ doctorId: doctor.id, cancellationWindowHours: 24, custom: false });
    });

    it("answers a bad window with 400 naming the field", async () => {
      const doctor = await make.doctor();
      for (const bad of [-1, 721, 1.5, "24"]) {
        const answer = await http.request("PUT", `/api/v1/doctors/${doctor.id}/booking-policy`, { json: { cancellationWindowHours: bad } });
        expect(expectError(answer, 400, "VALIDATION_FAILED").details[0]!.field).toBe("cancellationWindowHours");
      }
      expectError(await http.request("PUT", "/api/v1/doctors/not-a-uuid/booking-policy", { json: { cancellationWindowHours: 1 } }), 400, "VALIDATION_FAILED");
    });
  });

  describe("reschedule", () => {
    it("moves a confirmed booking to another slot of the doctor in one step: the new one confirmed, the old one cancelled and its seat back", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const target = await make.slot(doctor.id, { start: hoursAhead(96), capacity: 1 });

      const moved = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ slotId: target.id, status: "confirmed", rescheduledFrom: booking.id, rescheduleCount: 1, patientId: booking.patientId });
      const old = (await http.get(`/api/v1/bookings/${booking.id}`)).body;
      expect(old).toMatchObject({ status: "cancelled", rescheduledTo: moved.body.id });
      expect(await held(slot.id)).toBe(0);
      expect(await held(target.id)).toBe(1);

      // A retry of the same move answers the same new booking and takes nothing more.
      const retry = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      expect(retry.status).toBe(200);
      expect(retry.body.id).toBe(moved.body.id);
      expect(await held(target.id)).toBe(1);
    });

    it("lets the booking's doctor move it to another of their slots, even inside the window, and no other doctor's slot", async () => {
      const doctor = await make.doctor();
      const asDoctor = http.as({ role: "doctor", accountId: randomUUID(), doctorId: doctor.id });
      const { booking } = await confirmedBooking(doctor.id, 5);
      const theirs = await make.slot(doctor.id, { start: hoursAhead(6) });
      const elsewhere = await make.slot((await make.doctor()).id, { start: hoursAhead(7) });
      expectError(await asDoctor.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: elsewhere.id }), 403, "FORBIDDEN");
      const moved = await asDoctor.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: theirs.id });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ slotId: theirs.id, status: "confirmed", patientId: booking.patientId });
      const other = http.as({ role: "doctor", accountId: randomUUID(), doctorId: (await make.doctor()).id });
      expectError(await other.post(`/api/v1/bookings/${moved.body.id}/reschedule`, { slotId: theirs.id }), 403, "FORBIDDEN");
    });

    it("changes nothing when the new slot is full, and says why", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const full = await make.slot(doctor.id, { start: hoursAhead(98), capacity: 1 });
      await http.asPatient().post("/api/v1/bookings", make.bookingBody(full.id));

      const refused = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: full.id });
      expect(expectError(refused, 409, "SLOT_FULL").message).toContain("unchanged");
      expect((await http.get(`/api/v1/bookings/${booking.id}`)).body.status).toBe("confirmed");
      expect(await held(slot.id)).toBe(1);
      expect(await held(full.id)).toBe(1);
    });

    it("refuses the same slot, an unknown slot, another patient, a late move and a fourth move", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      expectError(await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: slot.id }), 422, "RESCHEDULE_SAME_SLOT");
      expectError(await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: "nope" }), 400, "VALIDATION_FAILED");
      expectError(await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: randomUUID() }), 404, "SLOT_NOT_FOUND");
      expectError(await http.asPatient().post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: (await make.slot(doctor.id, { start: hoursAhead(81) })).id }), 403, "FORBIDDEN");

      const late = await confirmedBooking(doctor.id, 5);
      expectError(await late.patient.post(`/api/v1/bookings/${late.booking.id}/reschedule`, { slotId: (await make.slot(doctor.id, { start: hoursAhead(82) })).id }), 409, "CANCELLATION_TOO_LATE");

      let current = booking.id;
      for (let move = 1; move <= 3; move++) {
        const next = await make.slot(doctor.id, { start: hoursAhead(100 + move) });
        const moved = await patient.post(`/api/v1/bookings/${current}/reschedule`, { slotId: next.id });
        expect(moved.body.rescheduleCount).toBe(move);
        current = moved.body.id;
      }
      const fourth = await patient.post(`/api/v1/bookings/${current}/reschedule`, { slotId: (await make.slot(doctor.id, { start: hoursAhead(110) })).id });
      expect(expectError(fourth, 409, "RESCHEDULE_LIMIT_REACHED") && fourth.body.error.info).toEqual({ rescheduleMax: "3" });
    });

    it("gives concurrent reschedules of one booking one winner, and the patient one seat", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const targets = await Promise.all(Array.from({ length: 5 }, (_, i) => make.slot(doctor.id, { start: hoursAhead(120 + i) })));
      const answers = await Promise.all(targets.map((t) => patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: t.id })));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) expect(a.status).toBe(409);
      const seats = await Promise.all([slot, ...targets].map((s) => held(s.id)));
      expect(seats.reduce((a, b) => a + b, 0)).toBe(1);
      const mine = (await patient.get(`/api/v1/patients/${booking.patientId}/bookings?status=confirmed`)).body.bookings;
      expect(mine).toHaveLength(1);
    });

    it("races a move into the last seat against a new booking: exactly one gets it, the loser's booking unchanged", async () => {
      const doctor = await make.doctor();
      for (let round = 0; round < 5; round++) {
        const { slot, patient, booking } = await confirmedBooking(doctor.id, 72 + round);
        const last = await make.slot(doctor.id, { start: hoursAhead(130 + round), capacity: 1 });
        const [moved, walkIn] = await Promise.all([
          patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: last.id }),
          http.asPatient().post("/api/v1/bookings", make.bookingBody(last.id)),
        ]);
        // Exactly one of them took the seat; the other was told the slot is full.
        expect(moved.status === 200 ? walkIn.status : moved.status).toBe(409);
        expect(moved.status === 200 || walkIn.status === 201).toBe(true);
        expect(await held(last.id)).toBe(1);
        // The move lost: the old booking stands, with its seat.
        if (moved.status !== 200) {
          expectError(moved, 409, "SLOT_FULL");
          expect((await http.get(`/api/v1/bookings/${booking.id}`)).body.status).toBe("confirmed");
          expect(await held(slot.id)).toBe(1);
        } else {
          expect(await held(slot.id)).toBe(0);
        }
      }
    });
  });

  describe("reschedule to a doctor whose bookings live in another shard (a saga)", () => {
    /** A doctor whose bookings are in another shard than `doctorId`'s. */
    async function doctorElsewhere(doctorId: string): Promise<string> {
      const home = stack.booking.router.forDoctor(doctorId).index;
      for (;;) {
        const other = (await make.doctor()).id;
        if (stack.booking.router.forDoctor(other).index !== home) return other;
      }
    }

    it("moves a confirmed booking across shards: the new one confirmed, the old one cancelled, one seat each way", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const target = await make.slot(await doctorElsewhere(doctor.id), { start: hoursAhead(90), capacity: 1 });

      const moved = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ slotId: target.id, status: "confirmed", rescheduledFrom: booking.id, rescheduleCount: 1 });
      expect((await http.get(`/api/v1/bookings/${booking.id}`)).body).toMatchObject({ status: "cancelled", rescheduledTo: moved.body.id });
      expect([await held(slot.id), await held(target.id)]).toEqual([0, 1]);
      // A retry answers the same move.
      const retry = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      expect(retry.body.id).toBe(moved.body.id);
      expect(await held(target.id)).toBe(1);
    });

    it("changes nothing when the other shard's slot is full, and gives no seat away", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const full = await make.slot(await doctorElsewhere(doctor.id), { start: hoursAhead(91), capacity: 1 });
      await http.asPatient().post("/api/v1/bookings", make.bookingBody(full.id));
      expectError(await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: full.id }), 409, "SLOT_FULL");
      expect((await http.get(`/api/v1/bookings/${booking.id}`)).body.status).toBe("confirmed");
      expect([await held(slot.id), await held(full.id)]).toEqual([1, 1]);
    });

    it("gives concurrent moves of one booking to other shards one winner, and the patient one seat", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const elsewhere = await doctorElsewhere(doctor.id);
      const targets = await Promise.all(Array.from({ length: 4 }, (_, i) => make.slot(elsewhere, { start: hoursAhead(140 + i) })));
      const answers = await Promise.all(targets.map((t) => patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: t.id })));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) expect(a.status).toBe(409);
      const seats = await Promise.all([slot, ...targets].map((s) => held(s.id)));
      expect(seats.reduce((a, b) => a + b, 0)).toBe(1);
      expect((await patient.get(`/api/v1/patients/${booking.patientId}/bookings?status=confirmed`)).body.bookings).toHaveLength(1);
    });

    it("finishes a move whose steps were left by a replica that died, with no moment of two confirmed seats", async () => {
      const doctor = await make.doctor();
      const { slot, patient, booking } = await confirmedBooking(doctor.id, 72);
      const target = await make.slot(await doctorElsewhere(doctor.id), { start: hoursAhead(92), capacity: 1 });
      // The only replica's step consumer dies: the saga is begun (its first step committed and
      // sent) but nobody takes the next step.
      await stack.booking.rescheduleSteps.stop();
      const pending = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      const inProgress = expectError(pending, 409, "RESCHEDULE_IN_PROGRESS");
      expect(inProgress.message).toContain("retry");
      const newId = pending.body.error.info.newBookingId as string;
      const confirmedSeats = async () =>
        (await patient.get(`/api/v1/patients/${booking.patientId}/bookings?status=confirmed`)).body.bookings.length as number;
      expect(await confirmedSeats()).toBe(1);
      expect((await http.get(`/api/v1/bookings/${booking.id}`)).body.status).toBe("confirmed");

      // Another replica joins the group and takes the steps over; meanwhile a watcher checks the
      // patient never shows two confirmed seats.
      let watching = true;
      let most = 0;
      const watcher = (async () => {
        while (watching) {
          most = Math.max(most, await confirmedSeats());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await stack.startBookingReplica();
      // Retried as a client would: the same request joins the saga and answers once it ended.
      let done = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      for (let attempt = 0; attempt < 6 && done.status === 409; attempt++) {
        expectError(done, 409, "RESCHEDULE_IN_PROGRESS");
        done = await patient.post(`/api/v1/bookings/${booking.id}/reschedule`, { slotId: target.id });
      }
      watching = false;
      await watcher;
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id: newId, slotId: target.id, status: "confirmed" });
      expect(most).toBe(1);
      expect([await held(slot.id), await held(target.id)]).toEqual([0, 1]);
    });

    it("changes nothing when every step is delivered again (each step is idempotent)", async () => {
      const snapshot = async () =>
        Promise.all(
          stack.booking.router.shards.map(async (shard) => ({
            bookings: (await shard.db.raw("SELECT id, status, expires_at, rescheduled_to, rescheduled_from FROM bookings ORDER BY id")).rows,
            seats: (await shard.db.raw("SELECT slot_id, held FROM slot_inventory ORDER BY slot_id")).rows,
            sagas: (await shard.db.raw("SELECT id, state, failure FROM reschedule_sagas ORDER BY id")).rows,
          })),
        );
      const before = await snapshot();
      expect(before.flatMap((s) => s.sagas).length).toBeGreaterThan(0);
      // A consumer group of its own reads the topic from its beginning: every step of every saga
      // above, handled a second time.
      const kafka = createKafka({ clientId: "e2e-replay", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
      const saga = new RescheduleSaga(stack.booking.router, stack.rescheduleTopic, 120_000, testLogger());
      const replay = new RescheduleConsumer(kafka, { topic: stack.rescheduleTopic, groupId: `${stack.rescheduleTopic}.replay` }, saga, testLogger());
      await replay.start();
      const admin = kafka.admin();
      await admin.connect();
      try {
        await eventually(async () => {
          const ends = await admin.fetchTopicOffsets(stack.rescheduleTopic);
          const [group] = await admin.fetchOffsets({ groupId: `${stack.rescheduleTopic}.replay`, topics: [stack.rescheduleTopic] });
          // A partition no step went to has nothing to catch up on (and no committed offset: -1).
          const caughtUp = ends.every((end) => end.high === end.low || group!.partitions.find((p) => p.partition === end.partition)?.offset === end.high);
          return caughtUp || undefined;
        }, 30_000, 200);
      } finally {
        await admin.disconnect();
        await replay.stop();
      }
      // The replayed steps wrote new steps of their own (sent by the relays); let them pass too.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await snapshot()).toEqual(before);
    });
  });
});
