import { randomUUID } from "node:crypto";
import { eventually, expectError, Fixtures, Http, type Stack, startStackWithFixtures } from "@clinic/test-stack";

const HOLD_TTL_MS = 1_500;

/**
 * A pending booking holds its seat only until it expires. The booking service runs with a hold
 * of 1.5 s and a fast sweeper, so the whole lapse happens within the test.
 */
describe("expiry of pending holds through the edge", () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_expiry", booking: { HOLD_TTL_MS: String(HOLD_TTL_MS), SWEEP_INTERVAL_MS: "200" } })));
  afterAll(() => stack?.stop());

  const availability = async (slotId: string) => (await http.get(`/api/v1/availability?slotIds=${slotId}`)).body.availability[0];

  it("expires an unconfirmed hold, gives the seat back and refuses a late confirm", async () => {
    const slot = await make.slot((await make.doctor()).id, { capacity: 1 });
    const created = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
    expect(created.status).toBe(201);
    const booking = created.body;
    const holdMs = Date.parse(booking.expireTime) - Date.parse(booking.createTime);
    expect(holdMs).toBeGreaterThanOrEqual(HOLD_TTL_MS - 50);
    expect(holdMs).toBeLessThanOrEqual(HOLD_TTL_MS + 1_000);

    // While held, the slot is full.
    const waiting = randomUUID();
    expectError(await http.asPatient(waiting).post("/api/v1/bookings", make.bookingBody(slot.id)), 409, "SLOT_FULL");

    const expired = await eventually(async () => {
      const res = await http.get(`/api/v1/bookings/${booking.id}`);
      return res.body.status === "expired" ? res.body : undefined;
    }, 15_000);
    expect(expired.id).toBe(booking.id);
    // The sweeper also records the lapse, so the listing agrees.
    await eventually(async () => {
      const res = await http.get(`/api/v1/slots/${slot.id}/bookings?status=expired`);
      return res.body.bookings.some((b: { id: string }) => b.id === booking.id) ? true : undefined;
    }, 15_000);

    expect(await availability(slot.id)).toEqual({ slotId: slot.id, capacity: 1, held: 0, remaining: 1 });
    expectError(await http.post(`/api/v1/bookings/${booking.id}/confirm`), 409, "BOOKING_EXPIRED");
    expectError(await http.post(`/api/v1/bookings/${booking.id}/cancel`), 409, "BOOKING_EXPIRED");

    // The seat is really free: the patient who was turned away gets it now.
    const second = await http.asPatient(waiting).post("/api/v1/bookings", make.bookingBody(slot.id));
    expect(second.status).toBe(201);
    expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1, remaining: 0 }));
  });

  it("keeps a confirmed booking's seat past the hold time", async () => {
    const slot = await make.slot((await make.doctor()).id, { capacity: 1 });
    const created = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
    const confirmed = await http.post(`/api/v1/bookings/${created.body.id}/confirm`);
    // One loopback round trip after the create: far inside the 1.5 s hold.
    expect(confirmed.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, HOLD_TTL_MS + 600));
    expect((await http.get(`/api/v1/bookings/${created.body.id}`)).body.status).toBe("confirmed");
    expect(await availability(slot.id)).toEqual(expect.objectContaining({ held: 1, remaining: 0 }));
  });
});
