import { createLogger, type Logger } from "@clinic/platform/logging";
import { createRedis, type Redis } from "@clinic/platform/redis";
import { eventually, privateRedis, testLogger, uniqueKeyPrefix } from "@clinic/test-stack";
import { Registry } from "prom-client";
import { createRateLimiter, rateLimitHeaders, type RateDecision, type RateLimiter, type RateLimiterOptions, type RatePolicies } from "../src/rate-limit";

const POLICIES: RatePolicies = {
  flood: { limit: 1000, windowSeconds: 1 },
  anonymous: { limit: 10, windowSeconds: 60 },
  account: { limit: 100, windowSeconds: 60 },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sum of a counter's series matching `labels`. */
async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Runs `count` checks one after another (order matters for a limiter). */
async function checks(limiter: RateLimiter, count: number, subject: { ip: string; accountId?: string }): Promise<RateDecision[]> {
  const decisions: RateDecision[] = [];
  for (let i = 0; i < count; i++) decisions.push(await limiter.check(subject));
  return decisions;
}

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({ service: "test", level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { logger, lines };
}

async function connected(url: string): Promise<Redis> {
  const redis = createRedis(url, testLogger());
  await redis.connect();
  return redis;
}

describe("rate limiter shared through Redis", () => {
  let redis: Redis;
  let other: Redis;
  privateRedis(
    async (url) => {
      redis = await connected(url);
      other = await connected(url);
    },
    async () => {
      await redis.quit();
      await other.quit();
    },
  );

  const limiterOn = (client: Redis, keyPrefix: string, policies: RatePolicies = POLICIES) => {
    const registry = new Registry();
    const limiter = createRateLimiter({ redis: client, keyPrefix, policies, registry, logger: testLogger() });
    return { limiter, registry };
  };

  it("admits exactly the anonymous limit per IP, then refuses with Retry-After and headers", async () => {
    const { limiter, registry } = limiterOn(redis, uniqueKeyPrefix("rl-anon"));

    const admitted = await checks(limiter, 10, { ip: "198.51.100.1" });
    expect(admitted.map((d) => d.allowed)).toEqual(Array(10).fill(true));
    expect(admitted.map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(admitted.every((d) => d.policy === "anonymous" && d.shared)).toBe(true);
    expect(rateLimitHeaders(admitted[0]!)).toEqual({
      "RateLimit-Limit": "10",
      "RateLimit-Remaining": "9",
      "RateLimit-Reset": "6",
      "RateLimit-Policy": "10;w=60",
    });

    const refused = await limiter.check({ ip: "198.51.100.1" });
    expect(refused).toMatchObject({ allowed: false, policy: "anonymous", limit: 10, windowSeconds: 60, remaining: 0, shared: true });
    // One request comes back every 60 s / 10.
    expect(refused.retryAfterSeconds).toBe(6);
    expect(rateLimitHeaders(refused)).toEqual({
      "RateLimit-Limit": "10",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "60",
      "RateLimit-Policy": "10;w=60",
      "Retry-After": "6",
    });
    expect(await counterValue(registry, "rate_limit_rejections_total", { policy: "anonymous" })).toBe(1);

    // Another address has its own budget.
    expect((await limiter.check({ ip: "198.51.100.2" })).allowed).toBe(true);
  });

  it("counts an authenticated caller per account, whatever its address", async () => {
    const policies = { ...POLICIES, anonymous: { limit: 2, windowSeconds: 60 }, account: { limit: 3, windowSeconds: 60 } };
    const { limiter, registry } = limiterOn(redis, uniqueKeyPrefix("rl-account"), policies);

    const fromTwoAddresses = [
      await limiter.check({ ip: "203.0.113.1", accountId: "acc-a" }),
      await limiter.check({ ip: "203.0.113.2", accountId: "acc-a" }),
      await limiter.check({ ip: "203.0.113.3", accountId: "acc-a" }),
      await limiter.check({ ip: "203.0.113.4", accountId: "acc-a" }),
    ];
    expect(fromTwoAddresses.map((d) => [d.allowed, d.policy, d.remaining, d.shared])).toEqual([
      [true, "account", 2, true],
      [true, "account", 1, true],
      [true, "account", 0, true],
      [false, "account", 0, true],
    ]);
    expect(rateLimitHeaders(fromTwoAddresses[3]!)["RateLimit-Policy"]).toBe("3;w=60");

    // Another account on the same address is untouched, and so is the address's anonymous budget.
    expect((await checks(limiter, 3, { ip: "203.0.113.1", accountId: "acc-b" })).every((d) => d.allowed)).toBe(true);
    expect((await checks(limiter, 2, { ip: "203.0.113.1" })).map((d) => d.allowed)).toEqual([true, true]);
    expect((await limiter.check({ ip: "203.0.113.1" })).allowed).toBe(false);

    expect(await counterValue(registry, "rate_limit_rejections_total", { policy: "account" })).toBe(1);
    expect(await counterValue(registry, "rate_limit_rejections_total", { policy: "anonymous" })).toBe(1);
  });

  it("refuses a flooding address, signed in or not, under the flood policy", async () => {
    const policies = { ...POLICIES, flood: { limit: 5, windowSeconds: 1 } };
    const { limiter, registry } = limiterOn(redis, uniqueKeyPrefix("rl-flood"), policies);

    const decisions = [
      ...(await checks(limiter, 3, { ip: "192.0.2.9" })),
      ...(await checks(limiter, 2, { ip: "192.0.2.9", accountId: "acc-f" })),
    ];
    expect(decisions.every((d) => d.allowed && d.shared)).toBe(true);

    const anonymous = await limiter.check({ ip: "192.0.2.9" });
    const signedIn = await limiter.check({ ip: "192.0.2.9", accountId: "acc-g" });
    for (const refused of [anonymous, signedIn]) {
      expect(refused).toMatchObject({ allowed: false, policy: "flood", limit: 5, windowSeconds: 1, remaining: 0, retryAfterSeconds: 1, shared: true });
      expect(rateLimitHeaders(refused)).toMatchObject({ "RateLimit-Policy": "5;w=1", "Retry-After": "1" });
    }
    expect(await counterValue(registry, "rate_limit_rejections_total", { policy: "flood" })).toBe(2);
    // A refused request spent nothing of the account's budget.
    const otherAddress = await limiter.check({ ip: "192.0.2.10", accountId: "acc-g" });
    expect(otherAddress).toMatchObject({ allowed: true, policy: "account", remaining: 99 });
  });

  it("gives two edges on one Redis one budget", async () => {
    const keyPrefix = uniqueKeyPrefix("rl-two-edges");
    const edgeA = limiterOn(redis, keyPrefix).limiter;
    const edgeB = limiterOn(other, keyPrefix).limiter;
    const subject = { ip: "198.51.100.77" };

    const admitted: RateDecision[] = [];
    for (let i = 0; i < 5; i++) {
      admitted.push(await edgeA.check(subject));
      admitted.push(await edgeB.check(subject));
    }
    expect(admitted.every((d) => d.allowed && d.shared)).toBe(true);
    expect(admitted.map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect((await edgeA.check(subject)).allowed).toBe(false);
    expect((await edgeB.check(subject)).allowed).toBe(false);
  });

  it("lets requests through again as the window moves on", async () => {
    // 4 per second: one request comes back every 250 ms, all four after a second.
    const policies = { ...POLICIES, anonymous: { limit: 4, windowSeconds: 1 } };
    const { limiter } = limiterOn(redis, uniqueKeyPrefix("rl-recover"), policies);
    const subject = { ip: "198.51.100.5" };

    expect((await checks(limiter, 4, subject)).every((d) => d.allowed)).toBe(true);
    expect(await limiter.check(subject)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });

    await sleep(300);
    expect((await checks(limiter, 2, subject)).map((d) => d.allowed)).toEqual([true, false]);

    await sleep(1_050);
    const refilled = await checks(limiter, 5, subject);
    expect(refilled.map((d) => d.allowed)).toEqual([true, true, true, true, false]);
  });

  it("lets its keys expire when the budget is whole again", async () => {
    const keyPrefix = uniqueKeyPrefix("rl-expiry");
    const { limiter } = limiterOn(redis, keyPrefix, { ...POLICIES, flood: { limit: 5, windowSeconds: 1 } });
    await limiter.check({ ip: "198.51.100.6" });
    const keys = await redis.keys(`${keyPrefix}*`);
    expect(keys.sort()).toEqual([`${keyPrefix}ratelimit:anonymous:198.51.100.6`, `${keyPrefix}ratelimit:flood:198.51.100.6`]);
    // A key lives until its TAT passes: one interval after one request (anonymous 6 s, flood 200 ms).
    const anonymousTtl = await redis.pttl(`${keyPrefix}ratelimit:anonymous:198.51.100.6`);
    expect(anonymousTtl).toBeGreaterThan(0);
    expect(anonymousTtl).toBeLessThanOrEqual(6_000);
    await eventually(async () => ((await redis.exists(`${keyPrefix}ratelimit:flood:198.51.100.6`)) === 0 ? true : undefined), 1_000, 5);
  });

  it("rejects policies it cannot enforce", () => {
    const make = (policies: RatePolicies) => () => limiterOn(redis, uniqueKeyPrefix("rl-bad"), policies);
    expect(make({ ...POLICIES, anonymous: { limit: 0, windowSeconds: 60 } })).toThrow(/anonymous: limit/);
    expect(make({ ...POLICIES, flood: { limit: 10, windowSeconds: 0 } })).toThrow(/flood: windowSeconds/);
  });
});

describe("rate limiter while Redis is down or stuck", () => {
  let redis: Redis;
  let clock: number;
  // Each test gets a server of its own: they leave it killed or paused.
  const server = privateRedis(
    async (url) => {
      redis = await connected(url);
      clock = 1_700_000_000_000;
    },
    async () => {
      server.resume();
      redis.disconnect();
    },
    { each: true },
  );

  const setup = (overrides: Partial<RateLimiterOptions> = {}) => {
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    const limiter = createRateLimiter({
      redis,
      keyPrefix: uniqueKeyPrefix("rl-outage"),
      policies: { ...POLICIES, anonymous: { limit: 3, windowSeconds: 60 } },
      registry,
      logger,
      now: () => clock,
      timeoutMs: 100,
      cooldownMs: 1_000,
      ...overrides,
    });
    return { limiter, registry, lines };
  };

  /** A check and how long it took. */
  const timed = async (limiter: RateLimiter, subject: { ip: string; accountId?: string }) => {
    const started = performance.now();
    const decision = await limiter.check(subject);
    return { decision, ms: performance.now() - started };
  };

  it("keeps limiting per replica when Redis is killed, and shares again once it is back", async () => {
    const { limiter, registry, lines } = setup();
    const subject = { ip: "198.51.100.20" };
    expect(await limiter.check(subject)).toMatchObject({ allowed: true, shared: true, remaining: 2 });

    await server.kill();
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await timed(limiter, subject));
    // Answered fast, by this replica alone, which starts from a whole budget and still refuses past it.
    expect(Math.max(...during.map((c) => c.ms))).toBeLessThan(400);
    expect(during.map((c) => [c.decision.allowed, c.decision.shared])).toEqual([
      [true, false],
      [true, false],
      [true, false],
      [false, false],
      [false, false],
    ]);
    expect(during[3]!.decision).toMatchObject({ policy: "anonymous", retryAfterSeconds: 20 });
    expect(rateLimitHeaders(during[3]!.decision)["Retry-After"]).toBe("20");
    expect(await counterValue(registry, "rate_limit_backend_errors_total")).toBe(5);
    expect(await counterValue(registry, "rate_limit_rejections_total", { policy: "anonymous" })).toBe(2);
    // Each cool-down that ends while the connection is still down is one more skipped check, but
    // the outage is logged once per 10 s, not once per request or per cool-down.
    for (let i = 0; i < 5; i++) {
      clock += 1_500;
      expect((await limiter.check({ ip: "198.51.100.22" })).shared).toBe(false);
    }
    expect(await counterValue(registry, "rate_limit_backend_errors_total")).toBe(10);
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);

    // The local budget recovers on the (injected) clock: 7.5 s passed above, 20 s more bring back one request.
    clock += 20_000;
    expect(await limiter.check(subject)).toMatchObject({ allowed: true, shared: false, remaining: 0 });
    expect(await limiter.check(subject)).toMatchObject({ allowed: false, shared: false });
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(2);

    await server.restart();
    const back = await eventually(async () => {
      clock += 1_000;
      const decision = await limiter.check({ ip: "198.51.100.21" });
      return decision.shared ? decision : undefined;
    });
    expect(back).toMatchObject({ allowed: true, shared: true });
    // Redis kept nothing through the crash, so the shared budget starts whole.
    expect(await limiter.check(subject)).toMatchObject({ allowed: true, shared: true, remaining: 2 });
    expect(lines.some((l) => l.level === "info" && /Redis again/.test(l.msg))).toBe(true);
  });

  it("does not wait on a stuck Redis longer than the timeout, then skips it during the cool-down", async () => {
    const { limiter, registry } = setup();
    const subject = { ip: "198.51.100.30" };
    expect((await limiter.check(subject)).shared).toBe(true);

    server.pause();
    const first = await timed(limiter, subject);
    expect(first.decision).toMatchObject({ allowed: true, shared: false });
    expect(first.ms).toBeGreaterThanOrEqual(90);
    expect(first.ms).toBeLessThan(400);
    expect(await counterValue(registry, "rate_limit_backend_errors_total", { reason: "timeout" })).toBe(1);

    const next = await timed(limiter, subject);
    expect(next.decision.shared).toBe(false);
    expect(next.ms).toBeLessThan(50);
    expect(await counterValue(registry, "rate_limit_backend_errors_total", { reason: "skipped" })).toBe(1);

    server.resume();
    const back = await eventually(async () => {
      clock += 1_000;
      const decision = await limiter.check(subject);
      return decision.shared ? decision : undefined;
    });
    expect(back.allowed).toBe(true);
  });

  it("keeps the in-process fallback bounded, dropping the least recently used keys", async () => {
    const { limiter } = setup({ maxLocalKeys: 10 });
    await server.kill();
    const busy = { ip: "198.51.100.40" };
    expect((await checks(limiter, 4, busy)).map((d) => d.allowed)).toEqual([true, true, true, false]);
    // Twenty other addresses write forty keys; the busy address's state is pushed out.
    for (let i = 0; i < 20; i++) await limiter.check({ ip: `203.0.113.${i}` });
    expect(await limiter.check(busy)).toMatchObject({ allowed: true, shared: false, remaining: 2 });
  });
});
