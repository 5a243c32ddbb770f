import { randomUUID } from "node:crypto";
import { type Answer, Fixtures, Http, type Stack, startStackWithFixtures } from "@clinic/test-stack";

/** Small seeded PRNG (mulberry32): the same seed gives the same mix of operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env["RANDOMIZED_SEED"] ?? 20261130);
const HOLD_MS = 1_500;

/** The answers each operation may give; anything else (a 5xx above all) fails the test. */
const ALLOWED: Record<string, string[]> = {
  create: ["201", "200", "409 SLOT_FULL", "409 ALREADY_BOOKED"],
  confirm: ["200", "409 BOOKING_EXPIRED", "409 BOOKING_ALREADY_CONFIRMED", "409 BOOKING_CANCELLED"],
  cancel: ["200", "409 BOOKING_ALREADY_CANCELLED", "409 BOOKING_EXPIRED"],
};

/**
 * Many slots, many patients, a random mix of holds, confirms, cancels and retries with
 * idempotency keys, with holds short enough to expire between rounds. After every round the
 * shard databases must agree with the answers the clients got.
 */
describe(`randomized booking rounds through the edge (seed ${SEED})`, () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_random", booking: { HOLD_TTL_MS: String(HOLD_MS), SWEEP_INTERVAL_MS: "200" } })));
  afterAll(() => stack?.stop());

  it("never overbooks, never loses or duplicates a booking", async () => {
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

    const slots: { id: string; capacity: number }[] = [];
    for (let d = 0; d < 6; d += 1) {
      const doctor = await make.doctor();
      for (let s = 0; s < 3; s += 1) {
        const capacity = 1 + Math.floor(random() * 4);
        slots.push({ id: (await make.slot(doctor.id, { capacity })).id, capacity });
      }
    }
    const patients = Array.from({ length: 25 }, () => randomUUID());
    const known = new Map<string, { slotId: string; patientId: string }>();
    const keyed = new Map<string, { body: ReturnType<Fixtures["bookingBody"]>; patientId: string; bookingId?: string }>();
    const outcomes = new Map<string, number>();

    for (let round = 0; round < 8; round += 1) {
      const ops: Promise<void>[] = [];
      for (let i = 0; i < 120; i += 1) {
        const roll = random();
        const ids = [...known.keys()];
        let kind: "create" | "confirm" | "cancel";
        let call: Promise<Answer>;
        let key: string | undefined;
        if (roll < 0.55 || ids.length === 0) {
          kind = "create";
          if (keyed.size > 0 && random() < 0.15) {
            key = pick([...keyed.keys()]); // a client retry with the same key and body
          } else if (random() < 0.3) {
            key = randomUUID();
            keyed.set(key, { body: make.bookingBody(pick(slots).id), patientId: pick(patients) });
          }
          const { body, patientId } = key ? keyed.get(key)! : { body: make.bookingBody(pick(slots).id), patientId: pick(patients) };
          call = http.asPatient(patientId).post("/api/v1/bookings", body, key ? { "idempotency-key": key } : undefined);
        } else {
          kind = roll < 0.8 ? "confirm" : "cancel";
          call = http.post(`/api/v1/bookings/${pick(ids)}/${kind}`);
        }
        ops.push(
          call.then((answer) => {
            const outcome = answer.status < 300 ? String(answer.status) : `${answer.status} ${answer.body?.error?.code}`;
            outcomes.set(`${kind} ${outcome}`, (outcomes.get(`${kind} ${outcome}`) ?? 0) + 1);
            // The whole answer in the failure message: an unexpected code says why in its message.
            if (!ALLOWED[kind]!.includes(outcome)) expect({ kind, outcome, body: answer.body }).toEqual({ kind, outcome: ALLOWED[kind] });
            if (kind === "create" && answer.status < 300) {
              const booking = answer.body as { id: string; slotId: string; patientId: string };
              if (key) {
                const entry = keyed.get(key)!;
                // Every retry with one key answers the one booking it first created.
                if (entry.bookingId) expect(booking.id).toBe(entry.bookingId);
                entry.bookingId ??= booking.id;
              }
              known.set(booking.id, { slotId: booking.slotId, patientId: booking.patientId });
            }
          }),
        );
      }
      await Promise.all(ops);
      await checkInvariants(round);
      // Every third round, wait for the holds to lapse so expiry races the next round.
      if (round % 3 === 2) await new Promise((r) => setTimeout(r, HOLD_MS + 300));
    }

    // The mix really exercised every path.
    for (const expected of ["create 201", "create 409 SLOT_FULL", "confirm 200", "cancel 200", "confirm 409 BOOKING_EXPIRED"]) {
      expect([...outcomes.keys()]).toContain(expected);
    }

    async function checkInvariants(round: number): Promise<void> {
      // 1. Inventory equals the seats actually held, and never exceeds capacity (one snapshot per shard).
      let active = 0;
      for (const shard of stack.booking.router.shards) {
        for (const row of await shard.audit()) {
          const slot = slots.find((s) => s.id === row.slot_id);
          expect({ round, slot: row.slot_id, over: row.active > row.capacity }).toEqual({ round, slot: row.slot_id, over: false });
          expect({ round, slot: row.slot_id, held: row.held }).toEqual({ round, slot: row.slot_id, held: row.active + row.pending_lapsed });
          expect(row.capacity).toBe(slot?.capacity);
          active += row.active;
        }
      }
      // 2. One active booking per patient and slot.
      const { rows } = await Promise.all(
        stack.shardDbs.map((db) =>
          db.knex.raw<{ rows: { n: number }[] }>(
            `SELECT count(*)::int AS n FROM (
               SELECT slot_id, patient_id FROM bookings
                WHERE status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now())
                GROUP BY slot_id, patient_id HAVING count(*) > 1) d`,
          ),
        ),
      ).then((results) => ({ rows: results.flatMap((r) => r.rows) }));
      expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(0);

      // 3. No lost and no phantom bookings: the admin list (every shard) is exactly what clients were told.
      const listed: string[] = [];
      let token = "";
      do {
        const page = await http.get(`/api/v1/bookings?pageSize=100${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`);
        expect(page.status).toBe(200);
        listed.push(...page.body.bookings.map((b: { id: string }) => b.id));
        token = page.body.nextPageToken ?? "";
      } while (token);
      expect(listed.length).toBe(new Set(listed).size);
      expect(new Set(listed)).toEqual(new Set(known.keys()));
      expect(active).toBeLessThanOrEqual(slots.reduce((sum, s) => sum + s.capacity, 0));
    }
  });
});
