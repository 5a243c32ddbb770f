import { randomUUID } from "node:crypto";
import { type Answer, Fixtures, Http, type Stack, startStackWithFixtures } from "@clinic/test-stack";

/**
 * The promise that matters most: a slot is never booked beyond its capacity. Hundreds of
 * patients race for a few seats through the edge, over real HTTP, gRPC and PostgreSQL.
 */
describe("contention for one slot through the edge", () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_contention" })));
  afterAll(() => stack?.stop());

  it("300 concurrent bookings for 5 seats: exactly 5 created, 295 SLOT_FULL", async () => {
    const CAPACITY = 5;
    const REQUESTS = 300;
    const slot = await make.slot((await make.doctor()).id, { capacity: CAPACITY });

    const answers: Answer[] = await Promise.all(
      Array.from({ length: REQUESTS }, () => http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id))),
    );

    const byOutcome = new Map<string, number>();
    for (const a of answers) {
      const outcome = a.status === 201 ? "201" : `${a.status} ${a.body?.error?.code}`;
      byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    }
    expect(Object.fromEntries(byOutcome)).toEqual({ "201": CAPACITY, "409 SLOT_FULL": REQUESTS - CAPACITY });

    const created = answers.filter((a) => a.status === 201).map((a) => a.body);
    expect(new Set(created.map((b) => b.id)).size).toBe(CAPACITY);
    for (const booking of created) expect(booking).toEqual(expect.objectContaining({ slotId: slot.id, status: "pending" }));

    const availability = await http.get(`/api/v1/availability?slotIds=${slot.id}`);
    expect(availability.body.availability).toEqual([{ slotId: slot.id, capacity: CAPACITY, held: CAPACITY, remaining: 0 }]);

    const active = await http.get(`/api/v1/slots/${slot.id}/bookings?status=pending&status=confirmed&pageSize=100`);
    expect(active.status).toBe(200);
    expect(active.body.bookings.map((b: { id: string }) => b.id).sort()).toEqual(created.map((b) => b.id).sort());
    expect(active.body.nextPageToken).toBeUndefined();

    // Every seat was counted once: the full slot still refuses the next patient.
    const late = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
    expect({ status: late.status, code: late.body.error.code }).toEqual({ status: 409, code: "SLOT_FULL" });
  });
});
