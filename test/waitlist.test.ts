import { randomUUID } from "node:crypto";
import { eventually, expectError, Fixtures, Http, type Stack, startStackWithFixtures } from "@clinic/test-stack";

/**
 * The waitlist through the edge over the real services: a freed seat goes to the first patient
 * waiting as a hold made for them, never to a walk-in while someone waits, one seat to one
 * patient at a time, and to the next in line when an offer lapses. Offers here last 1.5 s.
 */
describe("waitlist with automatic offers", () => {
  let stack: Stack, http: Http, make: Fixtures;
  const OFFER_TTL_MS = 1_500;

  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_waitlist", booking: { WAITLIST_OFFER_TTL_MS: String(OFFER_TTL_MS), SWEEP_INTERVAL_MS: "200" } })));
  afterAll(() => stack?.stop());

  const seats = async (slotId: string) => {
    const a = (await http.get(`/api/v1/availability?slotIds=${slotId}`)).body.availability[0];
    return { held: a.held as number, remaining: a.remaining as number };
  };
  const join = (patient: Http, slotId: string) => patient.post(`/api/v1/slots/${slotId}/waitlist`, { patientName: "Wendy Waiting", patientContact: "wendy@example.org" });
  /** The patient's entry for the slot, as they see it. */
  const entryOf = async (patientId: string, slotId: string) =>
    (await http.get(`/api/v1/patients/${patientId}/waitlist`)).body.entries.find((e: { slotId: string }) => e.slotId === slotId);

  /** A full slot of `capacity` seats, each held (confirmed) by a patient of its own. */
  async function fullSlot(capacity = 1) {
    const slot = await make.slot((await make.doctor()).id, { capacity });
    const holders = await Promise.all(
      Array.from({ length: capacity }, async () => {
        const patient = http.asPatient();
        const booked = await patient.post("/api/v1/bookings", { ...make.bookingBody(slot.id), confirm: true });
        expect(booked.status).toBe(201);
        return { patient, booking: booked.body };
      }),
    );
    return { slot, holders };
  }

  /** `n` patients waiting, in this order. */
  async function waiters(slotId: string, n: number) {
    const out: { id: string; http: Http }[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const patient = http.asPatient(id);
      const joined = await join(patient, slotId);
      expect(joined.status).toBe(201);
      expect(joined.body).toMatchObject({ slotId, patientId: id, state: "waiting", position: i + 1 });
      out.push({ id, http: patient });
    }
    return out;
  }

  it("lets a patient join a full slot once and leave; refuses a slot with a free seat", async () => {
    const { slot } = await fullSlot();
    const [wendy] = await waiters(slot.id, 1);
    expectError(await join(wendy!.http, slot.id), 409, "ALREADY_ON_WAITLIST");
    const left = await wendy!.http.delete(`/api/v1/slots/${slot.id}/waitlist`);
    expect(left.status).toBe(200);
    expect(left.body).toMatchObject({ state: "left", position: 0 });
    expectError(await wendy!.http.delete(`/api/v1/slots/${slot.id}/waitlist`), 404, "NOT_ON_WAITLIST");

    const open = await make.slot((await make.doctor()).id, { capacity: 2 });
    expectError(await join(http.asPatient(), open.id), 409, "SLOT_HAS_SEATS");
    expectError(await join(http.asPatient(), randomUUID()), 404, "SLOT_NOT_FOUND");
    const bad = await http.asPatient().post(`/api/v1/slots/${slot.id}/waitlist`, { patientName: "", patientContact: "nope" });
    expect(expectError(bad, 400, "VALIDATION_FAILED").details.map((d) => d.field).sort()).toEqual(["patientContact", "patientName"]);
  });

  it("offers a cancelled seat to the first in line, never to a walk-in, and the offer confirmed is a booking", async () => {
    const { slot, holders } = await fullSlot();
    const [first, second] = await waiters(slot.id, 2);
    // The cancel and a walk-in at the same instant: the seat goes to the queue either way.
    const [cancelled, walkIn] = await Promise.all([
      holders[0]!.patient.post(`/api/v1/bookings/${holders[0]!.booking.id}/cancel`),
      http.asPatient().post("/api/v1/bookings", make.bookingBody(slot.id)),
    ]);
    expect(cancelled.status).toBe(200);
    expectError(walkIn, 409, "SLOT_FULL");
    expect(await seats(slot.id)).toEqual({ held: 1, remaining: 0 });

    const offered = await entryOf(first!.id, slot.id);
    expect(offered).toMatchObject({ state: "offered", offerBookingId: expect.any(String) });
    const hold = (await first!.http.get(`/api/v1/bookings/${offered.offerBookingId}`)).body;
    expect(hold).toMatchObject({ slotId: slot.id, patientId: first!.id, status: "pending", waitlistOffer: true });
    expect((await entryOf(second!.id, slot.id)).position).toBe(1);

    expect((await first!.http.post(`/api/v1/bookings/${hold.id}/confirm`)).status).toBe(200);
    expect((await entryOf(first!.id, slot.id)).state).toBe("booked");
    const queue = (await http.get(`/api/v1/slots/${slot.id}/waitlist`)).body.entries;
    expect(queue.map((e: { patientId: string; state: string }) => [e.patientId, e.state])).toEqual([
      [second!.id, "waiting"],
      [first!.id, "booked"],
    ]);
  });

  it("gives a lapsed offer's seat to the next in line", async () => {
    const { slot, holders } = await fullSlot();
    const [first, second] = await waiters(slot.id, 2);
    await holders[0]!.patient.post(`/api/v1/bookings/${holders[0]!.booking.id}/cancel`);
    expect((await entryOf(first!.id, slot.id)).state).toBe("offered");
    // Not confirmed within the offer's 1.5 s: the sweep lapses it and the seat moves on.
    await eventually(async () => ((await entryOf(second!.id, slot.id)).state === "offered" ? true : undefined), 10_000, 100);
    expect((await entryOf(first!.id, slot.id)).state).toBe("lapsed");
    expect(await seats(slot.id)).toEqual({ held: 1, remaining: 0 });
  });

  it("offers many freed seats at once in queue order, one seat per patient", async () => {
    const { slot } = await fullSlot(1);
    const queue = await waiters(slot.id, 5);
    const raised = await http.patch(`/api/v1/slots/${slot.id}`, { capacity: 4 });
    expect(raised.status).toBe(200);
    const states = await Promise.all(queue.map(async (w) => (await entryOf(w.id, slot.id)).state));
    expect(states).toEqual(["offered", "offered", "offered", "waiting", "waiting"]);
    expect((await entryOf(queue[3]!.id, slot.id)).position).toBe(1);
    expect(await seats(slot.id)).toEqual({ held: 4, remaining: 0 });
  });

  it("keeps a waiting patient's entry when they book another slot directly, and still offers them the seat", async () => {
    const { slot, holders } = await fullSlot();
    const [wendy] = await waiters(slot.id, 1);
    const other = await make.slot((await make.doctor()).id, { capacity: 1 });
    const [direct] = await Promise.all([
      wendy!.http.post("/api/v1/bookings", { ...make.bookingBody(other.id), confirm: true }),
      holders[0]!.patient.post(`/api/v1/bookings/${holders[0]!.booking.id}/cancel`),
    ]);
    expect(direct.status).toBe(201);
    expect((await entryOf(wendy!.id, slot.id)).state).toBe("offered");
  });

  it("settles an offer confirmed as it lapses one way only: booked, or lapsed with the seat offered on", async () => {
    for (let round = 0; round < 3; round++) {
      const { slot, holders } = await fullSlot();
      const [first, second] = await waiters(slot.id, 2);
      await holders[0]!.patient.post(`/api/v1/bookings/${holders[0]!.booking.id}/cancel`);
      const { offerBookingId } = await entryOf(first!.id, slot.id);
      const made = Date.parse((await first!.http.get(`/api/v1/bookings/${offerBookingId}`)).body.expireTime);
      // Confirm right at the offer's expiry (a little before or after, by the clocks).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, made - Date.now() - 20 + round * 20)));
      const confirm = await first!.http.post(`/api/v1/bookings/${offerBookingId}/confirm`);
      if (confirm.status === 200) {
        expect((await entryOf(first!.id, slot.id)).state).toBe("booked");
        expect((await entryOf(second!.id, slot.id)).state).toBe("waiting");
      } else {
        expectError(confirm, 409, "BOOKING_EXPIRED");
        await eventually(async () => ((await entryOf(second!.id, slot.id)).state === "offered" ? true : undefined), 10_000, 100);
        expect((await entryOf(first!.id, slot.id)).state).toBe("lapsed");
      }
      // Never both: one seat, one holder.
      expect(await seats(slot.id)).toEqual({ held: 1, remaining: 0 });
    }
  });
});
