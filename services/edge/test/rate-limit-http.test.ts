import { randomUUID } from "node:crypto";
import { createScratchDatabase, metricValue, RedisServer, type ScratchDatabase, startTestEdge, uniqueKeyPrefix } from "@clinic/test-stack";
import type { RunningEdge } from "../src/app";

/**
 * Rate limits as clients meet them: over HTTP, at the configured numbers (the defaults of
 * section 8.1: 10 requests a minute per anonymous address, 100 per account), counted by two
 * edge replicas against one budget in Redis, and still enforced (per replica) while Redis is down.
 * The backends are unreachable; nothing here reaches them.
 */

let database: ScratchDatabase;
const edges: RunningEdge[] = [];

async function startLimitedEdge(env: Record<string, string>): Promise<RunningEdge> {
  const edge = await startTestEdge(database.name, env);
  edges.push(edge);
  return edge;
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function get(edge: RunningEdge, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${edge.port}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

// Answered by the edge alone (a path parameter that is not a UUID), so each request is quick.
const ANONYMOUS_PATH = "/api/v1/doctors/not-a-uuid";

beforeAll(async () => {
  database = await createScratchDatabase("edge_rate_limit");
});
afterAll(async () => {
  for (const edge of edges) await edge.lifecycle.shutdown("test finished");
  await database?.drop();
});

describe("rate limits shared by two edges", () => {
  let a: RunningEdge;
  let b: RunningEdge;

  beforeAll(async () => {
    // One deployment: the same key prefix, the same Redis, the default numbers.
    const prefix = uniqueKeyPrefix("edge_rl");
    a = await startLimitedEdge({ RATE_LIMIT_KEY_PREFIX: prefix });
    b = await startLimitedEdge({ RATE_LIMIT_KEY_PREFIX: prefix });
  });

  it("lets 10 anonymous requests a minute through across both replicas, then answers 429", async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 10; i++) answers.push(await get(i % 2 === 0 ? a : b, ANONYMOUS_PATH));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(400));
    expect(answers.map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]);
    expect(answers[0]!.headers.get("ratelimit-limit")).toBe("10");
    expect(answers[0]!.headers.get("ratelimit-policy")).toBe("10;w=60");

    for (const edge of [a, b]) {
      const refused = await get(edge, ANONYMOUS_PATH);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("RATE_LIMITED");
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    }
    // Probes and the public keys are never limited: an orchestrator must always reach them.
    expect((await get(a, "/healthz")).status).toBe(200);
    expect((await get(a, "/.well-known/jwks.json")).status).toBe(200);
    expect(await metricValue(a.metricsPort, "rate_limit_rejections_total", { policy: "anonymous" })).toBeGreaterThanOrEqual(1);
  });

  it("gives each account 100 requests a minute of its own, whatever its address's anonymous budget", async () => {
    const token = await a.auth.issueAccessToken({ id: randomUUID(), role: "patient", doctor_id: null });
    const other = await a.auth.issueAccessToken({ id: randomUUID(), role: "patient", doctor_id: null });
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 100; i++) statuses.push((await get(i % 2 === 0 ? a : b, ANONYMOUS_PATH, auth(token))).status);
    expect(statuses.filter((s) => s !== 400)).toEqual([]);
    // The budget refills one request every 0.6 s: on a slow machine the loop above earned a few
    // more. Beyond those, the next request is refused.
    let refused = await get(b, ANONYMOUS_PATH, auth(token));
    let extra = 0;
    while (refused.status !== 429 && extra < 20) {
      extra += 1;
      refused = await get(b, ANONYMOUS_PATH, auth(token));
    }
    expect(extra).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 600));
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 429, code: "RATE_LIMITED" });
    expect(refused.headers.get("ratelimit-policy")).toBe("100;w=60");
    // Another account from the same address is untouched.
    expect((await get(a, ANONYMOUS_PATH, auth(other))).status).toBe(400);
  });

  it("counts bad tokens against the address's anonymous budget", async () => {
    const edge = await startLimitedEdge({ RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_badtoken") });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await get(edge, ANONYMOUS_PATH, { authorization: "Bearer a.b.c" })).status);
    // Refused as bad tokens while the budget lasts, then as too many: a stream of guessed tokens
    // is throttled like any anonymous caller.
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });
});

describe("the per-address flood limit", () => {
  it("refuses requests beyond the per-second limit, whoever sends them", async () => {
    const edge = await startLimitedEdge({
      RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_flood"),
      RATE_LIMIT_FLOOD_PER_SECOND: "5",
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000",
    });
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 12 }, () => get(edge, ANONYMOUS_PATH).then((r) => r.status)));
    // Sent at once: five go through, the rest are refused; a loaded machine that took longer than
    // a fifth of a second to send them earned one more request per fifth of a second.
    const passed = statuses.filter((s) => s === 400).length;
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(5 + Math.floor((Date.now() - started) / 200));
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - passed);
    expect(await metricValue(edge.metricsPort, "rate_limit_rejections_total", { policy: "flood" })).toBe(12 - passed);
  });
});

describe("rate limits while Redis is down", () => {
  it("keeps answering, and keeps limiting per replica, until Redis is back", async () => {
    const redis = await RedisServer.start();
    try {
      const edge = await startLimitedEdge({ REDIS_URL: redis.url, RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_down") });
      expect((await get(edge, ANONYMOUS_PATH)).headers.get("ratelimit-remaining")).toBe("9");
      await redis.kill();

      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await get(edge, ANONYMOUS_PATH)).status);
      // No 5xx, no hang: the replica's own counters take over with the same numbers.
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
      expect(statuses.slice(10)).toEqual([429, 429]);
      expect(await metricValue(edge.metricsPort, "rate_limit_backend_errors_total")).toBeGreaterThanOrEqual(1);
    } finally {
      await redis.kill();
    }
  });
});
