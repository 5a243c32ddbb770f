import { freePort, stackEnv, testLogger } from "@clinic/test-stack";
import { createRedis, type Redis } from "./redis";

describe("Redis", () => {
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(stackEnv("REDIS_URL"), testLogger());
    await redis.connect();
  });

  afterAll(async () => {
    await redis.quit();
  });

  it("round-trips values with a TTL on the real server", async () => {
    const key = `test:roundtrip:${process.pid}:${Date.now()}`;
    expect(await redis.set(key, JSON.stringify({ seats: 3 }), "EX", 60)).toBe("OK");
    expect(JSON.parse((await redis.get(key))!)).toEqual({ seats: 3 });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.incrby(`${key}:n`, 5)).toBe(5);
    expect(await redis.del(key, `${key}:n`)).toBe(2);
    expect(await redis.get(key)).toBeNull();
  });

  it("fails fast instead of queueing commands while Redis is unreachable", async () => {
    const down = createRedis(`redis://127.0.0.1:${await freePort()}`, testLogger());
    await down.connect().catch(() => undefined);
    const started = Date.now();
    await expect(down.get("anything")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
    down.disconnect();
  });
});
