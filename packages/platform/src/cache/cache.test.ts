import { randomBytes } from "node:crypto";
import { RedisServer, stackEnv, testLogger } from "@clinic/test-stack";
import { Registry } from "prom-client";
import { Cache } from "./cache";
import { createRedis, type Redis } from "../redis/redis";

const unique = (): string => `test:cache:${process.pid}:${randomBytes(4).toString("hex")}`;

async function count(registry: Registry, cache: string, result: string): Promise<number> {
  const metric = await registry.getSingleMetric("cache_requests_total")!.get();
  return metric.values.find((v) => v.labels["cache"] === cache && v.labels["result"] === result)?.value ?? 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("cache-aside over the stack's Redis", () => {
  let redis: Redis;
  let registry: Registry;
  let cache: Cache;

  beforeAll(async () => {
    redis = createRedis(stackEnv("REDIS_URL"), testLogger());
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    registry = new Registry();
    cache = new Cache({ redis, logger: testLogger(), registry });
  });

  it("misses, stores with the TTL, then hits; Dates survive; not-found is not cached", async () => {
    const prefix = unique();
    const slots = cache.keyed<{ id: string; start: Date; label: string }>({ name: "t", ttlSeconds: 120, key: (id) => `${prefix}:${id}` });
    let loads = 0;
    const start = new Date("2031-05-06T07:08:09.123Z");
    const loader = async () => {
      loads += 1;
      // A string that looks like a date must stay a string.
      return { id: "a", start, label: "2031-05-06T07:08:09.123Z" };
    };
    expect(await slots.getOrLoad("a", loader)).toEqual({ id: "a", start, label: "2031-05-06T07:08:09.123Z" });
    const hit = await slots.getOrLoad("a", loader);
    expect(hit!.start).toBeInstanceOf(Date);
    expect(hit!.start.getTime()).toBe(start.getTime());
    expect(typeof hit!.label).toBe("string");
    expect(loads).toBe(1);
    const ttl = await redis.ttl(`${prefix}:a`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(await count(registry, "t", "miss")).toBe(1);
    expect(await count(registry, "t", "hit")).toBe(1);

    let missingLoads = 0;
    const none = async () => {
      missingLoads += 1;
      return undefined;
    };
    expect(await slots.getOrLoad("missing", none)).toBeUndefined();
    expect(await slots.getOrLoad("missing", none)).toBeUndefined();
    expect(missingLoads).toBe(2);
    expect(await redis.exists(`${prefix}:missing`)).toBe(0);
  });

  it("expires entries after their TTL", async () => {
    const prefix = unique();
    const short = cache.keyed<number>({ name: "t", ttlSeconds: 1, key: (id) => `${prefix}:${id}` });
    let version = 1;
    const loader = async () => version;
    expect(await short.getOrLoad("x", loader)).toBe(1);
    version = 2;
    expect(await short.getOrLoad("x", loader)).toBe(1);
    await sleep(1_200);
    expect(await short.getOrLoad("x", loader)).toBe(2);
  });

  it("shares one load among 50 concurrent misses of one key (single-flight)", async () => {
    const prefix = unique();
    const keyed = cache.keyed<string>({ name: "t", ttlSeconds: 60, key: (id) => `${prefix}:${id}` });
    let loads = 0;
    const loader = async () => {
      loads += 1;
      await sleep(50);
      return "value";
    };
    const answers = await Promise.all(Array.from({ length: 50 }, () => keyed.getOrLoad("hot", loader)));
    expect(answers).toEqual(Array(50).fill("value"));
    expect(loads).toBe(1);
    expect((await count(registry, "t", "miss")) + (await count(registry, "t", "hit"))).toBe(50);

    // Batches too: overlapping concurrent batches load each id once.
    const asked: string[] = [];
    const batchLoader = async (ids: string[]) => {
      asked.push(...ids);
      await sleep(30);
      return new Map(ids.map((id) => [id, `v-${id}`]));
    };
    const [first, second] = await Promise.all([keyed.getMany(["a", "b", "c"], batchLoader), keyed.getMany(["b", "c", "d"], batchLoader)]);
    expect([...first]).toEqual([["a", "v-a"], ["b", "v-b"], ["c", "v-c"]]);
    expect([...second].sort()).toEqual([["b", "v-b"], ["c", "v-c"], ["d", "v-d"]]);
    expect(asked.sort()).toEqual(["a", "b", "c", "d"]);
  });

  it("reads many keys in one round trip and loads only the misses", async () => {
    const prefix = unique();
    const keyed = cache.keyed<{ n: number }>({ name: "t", ttlSeconds: 60, key: (id) => `${prefix}:${id}` });
    await keyed.getOrLoad("1", async () => ({ n: 1 }));
    const asked: string[][] = [];
    const result = await keyed.getMany(["1", "2", "3", "2"], async (ids) => {
      asked.push(ids);
      return new Map(ids.filter((id) => id !== "3").map((id) => [id, { n: Number(id) }]));
    });
    expect(asked).toEqual([["2", "3"]]);
    expect([...result]).toEqual([["1", { n: 1 }], ["2", { n: 2 }]]);
    expect(await redis.exists(`${prefix}:2`, `${prefix}:3`)).toBe(1);
  });

  it("invalidates: the next read loads afresh, and a load that began before the write cannot store the old value", async () => {
    const prefix = unique();
    const keyed = cache.keyed<number>({ name: "t", ttlSeconds: 60, key: (id) => `${prefix}:${id}` });
    let db = 1;
    expect(await keyed.getOrLoad("k", async () => db)).toBe(1);
    db = 2;
    await keyed.invalidate("k");
    expect(await keyed.getOrLoad("k", async () => db)).toBe(2);
    expect(await count(registry, "t", "miss")).toBe(2);
    expect((await registry.getSingleMetric("cache_invalidations_total")!.get()).values[0]?.value).toBe(1);

    // A reader loads the old row; the writer commits and invalidates meanwhile; the reader's
    // fill must lose.
    await keyed.invalidate("race");
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowReader = keyed.getOrLoad("race", async () => {
      await gate;
      return 1; // read before the write
    });
    await sleep(20);
    await keyed.invalidate("race"); // the write committed: value is 2 now
    release();
    expect(await slowReader).toBe(1);
    expect(await keyed.getOrLoad("race", async () => 2)).toBe(2);
    expect(await keyed.getOrLoad("race", async () => 3)).toBe(2);
  });

  it("drops every list of a namespace by moving its generation, and leaves other namespaces alone", async () => {
    const lists = cache.lists<string[]>({ name: "lists", ttlSeconds: 60 });
    const [ns, other] = [unique(), unique()];
    let rows = ["a"];
    const loader = async () => [...rows];
    expect(await lists.getOrLoad(ns, "page=1", loader)).toEqual(["a"]);
    expect(await lists.getOrLoad(ns, "page=2", loader)).toEqual(["a"]);
    expect(await lists.getOrLoad(other, "page=1", loader)).toEqual(["a"]);
    rows = ["a", "b"];
    expect(await lists.getOrLoad(ns, "page=1", loader)).toEqual(["a"]); // cached
    await lists.invalidateAll(ns);
    expect(await lists.getOrLoad(ns, "page=1", loader)).toEqual(["a", "b"]);
    expect(await lists.getOrLoad(ns, "page=2", loader)).toEqual(["a", "b"]);
    expect(await lists.getOrLoad(other, "page=1", loader)).toEqual(["a"]);
    expect(await count(registry, "lists", "hit")).toBe(2);

    // A lost generation key (evicted, expired) starts a new generation: old entries stay unreachable.
    await redis.del(`${ns}:gen`);
    rows = ["c"];
    expect(await lists.getOrLoad(ns, "page=1", loader)).toEqual(["c"]);
  });

  it("keeps caches with different key prefixes apart (stacks sharing one Redis)", async () => {
    const [p1, p2] = [`${unique()}:`, `${unique()}:`];
    const one = new Cache({ redis, logger: testLogger(), registry: new Registry(), keyPrefix: p1 });
    const two = new Cache({ redis, logger: testLogger(), registry: new Registry(), keyPrefix: p2 });
    const listsOne = one.lists<string>({ name: "l", ttlSeconds: 60 });
    const listsTwo = two.lists<string>({ name: "l", ttlSeconds: 60 });
    expect(await listsOne.getOrLoad("doctors:all", "q", async () => "one")).toBe("one");
    expect(await listsTwo.getOrLoad("doctors:all", "q", async () => "two")).toBe("two");
    expect(await listsOne.getOrLoad("doctors:all", "q", async () => "x")).toBe("one");
    expect(await redis.exists(`${p1}doctors:all:gen`, `${p2}doctors:all:gen`)).toBe(2);
    const keyed = one.keyed<number>({ name: "k", ttlSeconds: 60, key: (id) => `slot:${id}` });
    await keyed.getOrLoad("a", async () => 1);
    expect(await redis.get(`${p1}slot:a`)).toBe("1");
  });

  it("never caches a failed load", async () => {
    const prefix = unique();
    const keyed = cache.keyed<number>({ name: "t", ttlSeconds: 60, key: (id) => `${prefix}:${id}` });
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error("database down");
    };
    await expect(Promise.all([keyed.getOrLoad("e", failing), keyed.getOrLoad("e", failing)])).rejects.toThrow("database down");
    expect(calls).toBe(1);
    expect(await keyed.getOrLoad("e", async () => 7)).toBe(7);
  });
});

describe("cache-aside while Redis is down (a private redis-server)", () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = createRedis(server.url, testLogger());
    await redis.connect();
  });
  afterAll(async () => {
    redis.disconnect();
    server.resume();
    await server.kill();
  });

  it("answers from the loader when Redis is killed, without waiting, and fills again after a restart", async () => {
    const registry = new Registry();
    const cache = new Cache({ redis, logger: testLogger(), registry, cooldownMs: 200 });
    const keyed = cache.keyed<string>({ name: "t", ttlSeconds: 60, key: (id) => `outage:${id}` });
    let loads = 0;
    const loader = async () => {
      loads += 1;
      return "from-db";
    };
    expect(await keyed.getOrLoad("a", loader)).toBe("from-db");
    expect(await keyed.getOrLoad("a", loader)).toBe("from-db");
    expect(loads).toBe(1);

    await server.kill();
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect(await keyed.getOrLoad("a", loader)).toBe("from-db");
    expect(await keyed.getMany(["a", "b"], async (ids) => new Map(ids.map((id) => [id, "from-db"])))).toEqual(
      new Map([["a", "from-db"], ["b", "from-db"]]),
    );
    await keyed.invalidate("a"); // does not throw
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(loads).toBe(21);
    expect(await count(registry, "t", "error")).toBe(22);
    expect((await registry.getSingleMetric("cache_available")!.get()).values[0]?.value).toBe(0);

    await server.restart();
    // ioredis reconnects within its retry interval; after the cool-down the cache uses Redis again.
    const deadline = Date.now() + 15_000;
    while ((await count(registry, "t", "hit")) < 2 && Date.now() < deadline) {
      await keyed.getOrLoad("a", loader);
      await sleep(50);
    }
    expect(await count(registry, "t", "hit")).toBeGreaterThanOrEqual(2);
    expect(await redis.get("outage:a")).toBe(JSON.stringify("from-db"));
    expect((await registry.getSingleMetric("cache_available")!.get()).values[0]?.value).toBe(1);
  });

  it("bounds a hung Redis to one command timeout, then replays the invalidations it missed", async () => {
    const registry = new Registry();
    const cache = new Cache({ redis, logger: testLogger(), registry, cooldownMs: 300 });
    const keyed = cache.keyed<number>({ name: "t", ttlSeconds: 60, key: (id) => `hung:${id}` });
    let db = 1;
    expect(await keyed.getOrLoad("k", async () => db)).toBe(1);
    expect(await keyed.getOrLoad("k", async () => db)).toBe(1);

    server.pause();
    try {
      const first = Date.now();
      expect(await keyed.getOrLoad("k", async () => db)).toBe(1);
      // The client's 500 ms command timeout, once.
      expect(Date.now() - first).toBeLessThan(1_500);
      db = 2;
      const write = Date.now();
      await keyed.invalidate("k");
      for (let i = 0; i < 10; i++) expect(await keyed.getOrLoad("k", async () => db)).toBe(2);
      expect(Date.now() - write).toBeLessThan(200);
    } finally {
      server.resume();
    }
    // Recovery replays the tombstone before reads use Redis again: the old value never comes back.
    const deadline = Date.now() + 10_000;
    while ((await count(registry, "t", "hit")) < 2 && Date.now() < deadline) {
      expect(await keyed.getOrLoad("k", async () => db)).toBe(2);
      await sleep(50);
    }
    expect(await count(registry, "t", "hit")).toBeGreaterThanOrEqual(2);
    expect(await keyed.getOrLoad("k", async () => db)).toBe(2);
  });
});
