import { randomUUID } from "node:crypto";
import { Fixtures, Http, SHARD_COUNT, type Stack, startStackWithFixtures } from "@clinic/test-stack";

/**
 * The admin list gathers from every shard and merges newest first. Doctors are picked so that
 * every shard holds bookings; paging with a small page size must return each booking once.
 */
describe("admin list across shards through the edge", () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_scatter" })));
  afterAll(() => stack?.stop());

  it("pages through bookings of all four shards, each exactly once, newest first", async () => {
    // Create doctors until each shard owns two of them; the booking service's own router says
    // which shard a doctor lives in.
    const doctorsByShard = new Map<number, string[]>();
    for (let attempts = 0; [...doctorsByShard.values()].filter((d) => d.length >= 2).length < SHARD_COUNT; attempts++) {
      if (attempts > 200) throw new Error("could not place two doctors on every shard");
      const doctor = await make.doctor();
      const shard = stack.booking.router.forDoctor(doctor.id).index;
      const list = doctorsByShard.get(shard) ?? [];
      if (list.length < 2) doctorsByShard.set(shard, [...list, doctor.id]);
    }

    const created: { id: string; createTime: string }[] = [];
    for (const doctors of doctorsByShard.values()) {
      for (const doctorId of doctors) {
        const slot = await make.slot(doctorId, { capacity: 3 });
        for (let i = 0; i < 2; i++) {
          const res = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id));
          expect(res.status).toBe(201);
          created.push(res.body);
        }
      }
    }
    expect(created).toHaveLength(SHARD_COUNT * 2 * 2);
    // Shown from the databases themselves: every shard holds some of them.
    for (const db of stack.shardDbs) {
      const [{ count }] = await db.knex("bookings").count<{ count: string }[]>({ count: "*" });
      expect(Number(count)).toBeGreaterThan(0);
    }

    const listed: { id: string; createTime: string }[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await http.get(`/api/v1/bookings?pageSize=3${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.bookings.length).toBeLessThanOrEqual(3);
      listed.push(...res.body.bookings);
      token = res.body.nextPageToken;
      if (++pages > 50) throw new Error("pagination does not end");
    } while (token);

    expect(listed.map((b) => b.id).sort()).toEqual(created.map((b) => b.id).sort());
    expect(new Set(listed.map((b) => b.id)).size).toBe(listed.length);
    expect(pages).toBe(Math.ceil(created.length / 3));
    const times = listed.map((b) => Date.parse(b.createTime));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]!);
    // Created one after another, so newest first is the reverse of creation order.
    expect(listed.map((b) => b.id)).toEqual([...created].reverse().map((b) => b.id));

    // Filtered lists page the same way.
    await http.post(`/api/v1/bookings/${created[0]!.id}/confirm`);
    await http.post(`/api/v1/bookings/${created[5]!.id}/confirm`);
    const confirmed = await http.get("/api/v1/bookings?status=confirmed&pageSize=1");
    expect(confirmed.body.bookings.map((b: { id: string }) => b.id)).toEqual([created[5]!.id]);
    const rest = await http.get(`/api/v1/bookings?status=confirmed&pageSize=1&pageToken=${encodeURIComponent(confirmed.body.nextPageToken)}`);
    expect(rest.body.bookings.map((b: { id: string }) => b.id)).toEqual([created[0]!.id]);
    expect(rest.body.nextPageToken).toBeUndefined();
  });
});
