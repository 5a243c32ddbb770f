import * as http from "node:http";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createKafka } from "@clinic/platform/kafka";
import {
  eventually, expectError, Fixtures, Http, SseClient, type SseOpenOptions, type Stack, stackEnv,
  startStackWithFixtures, testLogger,
} from "@clinic/test-stack";

/**
 * `GET /api/v1/availability/stream` against the whole platform in this process: real bookings
 * through the edge, their events through the shards' outboxes and the test stack's Kafka, the
 * edge's own consumer of those events, and Server-Sent Events read over plain HTTP.
 */
describe("live availability (Server-Sent Events)", () => {
  jest.setTimeout(180_000);
  /** The cap per client address; the 1,000 subscribers come from many loopback addresses. */
  const PER_ADDRESS = 25;
  let stack: Stack, admin: Http, make: Fixtures;
  let doctorId: string;

  beforeAll(async () => {
    ({ stack, http: admin, make } = await startStackWithFixtures({
      name: "e2e_live",
      edge: { LIVE_MAX_STREAMS_PER_ADDRESS: String(PER_ADDRESS), LIVE_HEARTBEAT_MS: "500" },
    }));
    doctorId = (await make.doctor("cardiology")).id;
    // Events flow from here on (a stream opened earlier would still get its seats: the feed
    // reads every watched slot again once it is positioned).
    await stack.edge.liveFeed.caughtUp();
  });
  afterAll(() => stack?.stop());

  const streamPath = (slotIds: readonly string[]) => `/api/v1/availability/stream?slotIds=${slotIds.join(",")}`;
  const open = (slotIds: readonly string[], options?: SseOpenOptions) => SseClient.open(stack.baseUrl, streamPath(slotIds), options);
  const seatsOf = (client: SseClient, slotId: string) => client.availability().filter((a) => a.slotId === slotId);
  const latestOf = (client: SseClient, slotId: string) => seatsOf(client, slotId).at(-1);
  const book = (slotId: string) => admin.asPatient().post("/api/v1/bookings", make.bookingBody(slotId));

  /** The edge's metrics as name{labels} -> value. */
  const scrape = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(`http://127.0.0.1:${stack.metricsPorts.edge}/metrics`)).text();
    const values = new Map<string, number>();
    for (const line of text.split("\n")) {
      const match = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+|NaN)$/.exec(line);
      if (match) values.set(match[1]!.replace(/,?service="edge"/, "").replace("{}", ""), Number(match[2]));
    }
    return values;
  };

  it("keeps 1,000 subscribers of one slot up to date as it fills, within a second of the last booking, and frees them all", async () => {
    const SUBSCRIBERS = 1_000;
    const CAPACITY = 40;
    const slot = await make.slot(doctorId, { capacity: CAPACITY });
    const before = await scrape();
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

    const clients: SseClient[] = [];
    // In waves, so the listen backlog never overflows into SYN retries.
    for (let wave = 0; wave < SUBSCRIBERS / 100; wave++) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) => {
            const n = wave * 100 + i;
            return open([slot.id], { agent, localAddress: `127.0.${10 + Math.floor(n / PER_ADDRESS)}.1` });
          }),
        )),
      );
    }
    expect(clients.map((c) => c.status).filter((s) => s !== 200)).toEqual([]);
    // Everyone gets the current seats first.
    await Promise.all(clients.map((c) => c.waitFor(() => latestOf(c, slot.id), 20_000, "first seats")));
    expect(new Set(clients.map((c) => JSON.stringify(latestOf(c, slot.id))))).toEqual(
      new Set([JSON.stringify({ slotId: slot.id, capacity: CAPACITY, held: 0, remaining: CAPACITY })]),
    );
    expect(stack.edge.live.stats()).toMatchObject({ streams: SUBSCRIBERS, watchedSlots: 1, addresses: SUBSCRIBERS / PER_ADDRESS });
    expect((await scrape()).get("live_availability_streams")).toBe(SUBSCRIBERS);

    // Book it to full through the API, all at once.
    let lastAnswerAt = 0;
    const statuses = await Promise.all(
      Array.from({ length: CAPACITY }, async () => {
        const res = await book(slot.id);
        lastAnswerAt = Math.max(lastAnswerAt, Date.now());
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    expectError(await book(slot.id), 409, "SLOT_FULL");

    const sawFullAt = await Promise.all(
      clients.map((c) => c.waitFor(() => c.messages.find((m) => m.event === "availability" && JSON.parse(m.data).remaining === 0)?.at, 10_000, "full")),
    );
    const latest = Math.max(...sawFullAt) - lastAnswerAt;
    expect({ slowestSubscriberAfterLastAnswerMs: latest, withinOneSecond: latest < 1_000 }).toEqual({ slowestSubscriberAfterLastAnswerMs: latest, withinOneSecond: true });
    for (const client of clients) {
      // Pushed only when the seats changed: each count once, in order, ending at zero.
      const remaining = seatsOf(client, slot.id).map((a) => a.remaining);
      expect(remaining.every((r, i) => i === 0 || r < remaining[i - 1]!)).toBe(true);
      expect(remaining.at(-1)).toBe(0);
    }

    // Coalesced: 40 seat changes and 1,000 subscribers' first seats took fewer reads than changes.
    // (The read that showed the slot full can come before the last events do: wait for them, and
    // for the settle read after them.)
    let after = await scrape();
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    await eventually(async () => {
      after = await scrape();
      return delta('live_availability_events_received_total{watched="true"}') >= CAPACITY && stack.edge.live.stats().readsPending === 0 ? true : undefined;
    }, 10_000, 100);
    const reads = delta('live_availability_reads_total{outcome="ok"}');
    expect({ reads, fewerThanChanges: reads < CAPACITY }).toEqual({ reads, fewerThanChanges: true });
    expect(delta("live_availability_reads_coalesced_total")).toBeGreaterThan(0);
    expect(delta("live_availability_updates_pushed_total")).toBe(clients.reduce((n, c) => n + c.availability().length, 0));

    // Every subscriber leaves: nothing stays behind for them.
    for (const client of clients) client.close();
    await eventually(async () => (stack.edge.live.stats().streams === 0 ? true : undefined), 10_000);
    expect(stack.edge.live.stats()).toEqual({ streams: 0, watchedSlots: 0, knownSlots: 0, addresses: 0, readsPending: 0 });
    expect((await scrape()).get("live_availability_streams")).toBe(0);
    agent.destroy();
  });

  it("resumes from Last-Event-ID with only what changed since", async () => {
    const [first, second] = [await make.slot(doctorId, { capacity: 3 }), await make.slot(doctorId, { capacity: 2 })];
    const ids = [first.id, second.id];
    const initial = await open(ids);
    await initial.waitFor(() => (initial.availability().length === 2 ? true : undefined), 10_000, "both slots");
    expect(initial.retry).toBeGreaterThanOrEqual(3_000);
    const token = initial.lastEventId!;
    expect(token).toMatch(/^1\./);
    initial.close();

    expect((await book(first.id)).status).toBe(201);
    const resumed = await open(ids, { headers: { "last-event-id": token } });
    const changed = await resumed.waitFor(() => resumed.availability()[0], 10_000, "the changed slot");
    expect(changed).toEqual({ slotId: first.id, capacity: 3, held: 1, remaining: 2 });
    // Heartbeats pass (every 500 ms here), and the unchanged slot is not sent again.
    await resumed.waitFor(() => (resumed.comments.filter((c) => c === "ping").length >= 2 ? true : undefined), 5_000, "two heartbeats");
    expect(resumed.availability()).toEqual([changed]);
    resumed.close();

    // Resuming where that one stopped: nothing changed, nothing is sent.
    const idle = await open(ids, { headers: { "last-event-id": resumed.lastEventId! } });
    await idle.waitFor(() => (idle.comments.includes("ping") ? true : undefined), 5_000, "a heartbeat");
    await sleep(300);
    expect(idle.messages).toEqual([]);
    idle.close();

    // A token of another slot list (here: another order), or garbage, is no token: everything comes.
    for (const lastEventId of [token, "garbage", "1.x.y"]) {
      const fresh = await open([second.id, first.id], { headers: { "last-event-id": lastEventId } });
      await fresh.waitFor(() => (fresh.availability().length === 2 ? true : undefined), 10_000, "a full snapshot");
      expect(fresh.availability().map((a) => a.remaining)).toEqual([2, 2]);
      fresh.close();
    }
  });

  it("shows a cancelled hold's seat free again, a capacity change, and a deleted slot; a confirmation changes nothing", async () => {
    const slot = await make.slot(doctorId, { capacity: 1 });
    const client = await open([slot.id]);
    await client.waitFor(() => latestOf(client, slot.id), 10_000, "first seats");
    const patient = admin.asPatient();
    const held = await patient.post("/api/v1/bookings", make.bookingBody(slot.id));
    expect(held.status).toBe(201);
    await client.waitFor(() => (latestOf(client, slot.id)?.remaining === 0 ? true : undefined), 5_000, "the hold");

    expect((await patient.post(`/api/v1/bookings/${held.body.id}/confirm`)).status).toBe(200);
    // The confirmation's event arrives and changes no seat: nothing is pushed (the settle read after it neither).
    await sleep(2_500);
    expect(seatsOf(client, slot.id).map((a) => a.remaining)).toEqual([1, 0]);

    expect((await patient.post(`/api/v1/bookings/${held.body.id}/cancel`)).status).toBe(200);
    await client.waitFor(() => (latestOf(client, slot.id)?.remaining === 1 ? true : undefined), 5_000, "the seat back");
    expect(latestOf(client, slot.id)).toEqual({ slotId: slot.id, capacity: 1, held: 0, remaining: 1 });

    expect((await admin.patch(`/api/v1/slots/${slot.id}`, { capacity: 3 })).status).toBe(200);
    await client.waitFor(() => (latestOf(client, slot.id)?.capacity === 3 ? true : undefined), 5_000, "the new capacity");
    expect(latestOf(client, slot.id)).toEqual({ slotId: slot.id, capacity: 3, held: 0, remaining: 3 });

    expect((await admin.delete(`/api/v1/slots/${slot.id}`)).status).toBe(204);
    const missing = await client.waitFor(() => client.messages.find((m) => m.event === "missing"), 5_000, "the deletion");
    expect(JSON.parse(missing.data)).toEqual({ slotId: slot.id });
    client.close();
  });

  it("refuses too many slots and bad ids as GET /availability does, and too many streams per address with 429", async () => {
    const ids = Array.from({ length: 51 }, () => randomUUID());
    const tooMany = await open(ids);
    await tooMany.ended;
    expect(tooMany.status).toBe(400);
    const error = expectError({ status: tooMany.status, headers: new Headers(), body: tooMany.body }, 400, "VALIDATION_FAILED");
    expect(error.details.map((d) => d.field)).toEqual(["slotIds"]);

    // Fifty are fine; ids of no slot come back as missing.
    const fifty = await open(ids.slice(0, 50));
    expect(fifty.status).toBe(200);
    await fifty.waitFor(() => (fifty.messages.filter((m) => m.event === "missing").length === 50 ? true : undefined), 10_000, "50 missing");
    fifty.close();

    for (const query of ["slotIds=not-a-uuid", `slotIds=${randomUUID()},nope`, "slotIds=", "other=1"]) {
      const stream = await SseClient.open(stack.baseUrl, `/api/v1/availability/stream?${query}`);
      await stream.ended;
      const plain = await admin.anonymous().get(`/api/v1/availability?${query}`);
      expect({ query, status: stream.status, body: stream.body }).toEqual({ query, status: plain.status, body: plain.body });
      expect({ query, status: stream.status }).toEqual({ query, status: 400 });
    }

    // Public like GET /availability: anonymous and signed-in callers alike; a bad token is refused.
    const slot = await make.slot(doctorId, { capacity: 2 });
    const badToken = await open([slot.id], { headers: { authorization: "Bearer not.a.token" } });
    await badToken.ended;
    expect(badToken.status).toBe(401);
    expect((badToken.body as { error: { code: string } }).error.code).toBe("INVALID_TOKEN");
    const token = await stack.signer.token({ role: "patient" });
    const signedIn = await open([slot.id], { headers: { authorization: `Bearer ${token}` } });
    expect(signedIn.status).toBe(200);
    signedIn.close();

    // The per-address cap: one more than allowed from one address is refused, another address is not.
    const address = "127.0.200.1";
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => open([slot.id], { localAddress: address })));
    expect(held.map((c) => c.status)).toEqual(held.map(() => 200));
    const refused = await open([slot.id], { localAddress: address });
    await refused.ended;
    expect(refused.status).toBe(429);
    expect((refused.body as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect(Number(refused.response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    const elsewhere = await open([slot.id], { localAddress: "127.0.200.2" });
    expect(elsewhere.status).toBe(200);
    elsewhere.close();
    // Closing one makes room again.
    held.pop()!.close();
    await eventually(async () => ((await open([slot.id], { localAddress: address }).then((c) => (c.close(), c.status))) === 200 ? true : undefined), 5_000, 100);
    for (const client of held) client.close();
  });

  it("answers with the stream's headers, counts it once at its start, and tells the edge's metrics", async () => {
    const slot = await make.slot(doctorId, { capacity: 2 });
    const before = await scrape();
    const client = await open([slot.id]);
    const headers = client.response.headers;
    expect(headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(headers["cache-control"]).toBe("no-cache");
    expect(headers["x-accel-buffering"]).toBe("no");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["x-request-id"]).toEqual(expect.any(String));
    expect(headers["ratelimit-limit"]).toEqual(expect.any(String));
    await client.waitFor(() => latestOf(client, slot.id), 10_000, "first seats");
    const route = 'http_requests_total{method="GET",route="/api/v1/availability/stream",status_code="200"}';
    expect(((await scrape()).get(route) ?? 0) - (before.get(route) ?? 0)).toBe(1);
    client.close();
  });

  it("ends every stream cleanly when the edge shuts down, and leaves no consumer group behind", async () => {
    const slot = await make.slot(doctorId, { capacity: 2 });
    const clients = await Promise.all([open([slot.id]), open([slot.id])]);
    await Promise.all(clients.map((c) => c.waitFor(() => latestOf(c, slot.id), 10_000, "first seats")));
    const groupId = stack.edge.liveFeed.groupId;
    const started = Date.now();
    await stack.edge.lifecycle.shutdown("test");
    await Promise.all(clients.map((c) => c.ended));
    expect(clients.every((c) => c.response.complete)).toBe(true);
    // Well before the shutdown timeout (10 s): streams are ended, not waited for.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(stack.edge.live.stats()).toMatchObject({ streams: 0, watchedSlots: 0 });

    const kafka = createKafka({ clientId: "e2e-live", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      expect((await kafkaAdmin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
    } finally {
      await kafkaAdmin.disconnect();
    }
  });
});
