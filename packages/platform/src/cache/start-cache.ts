import type { Registry } from "prom-client";
import type { Lifecycle } from "../service/lifecycle";
import type { Logger } from "../logging/logger";
import { connectRedis, type Redis } from "../redis/redis";
import { Cache } from "./cache";
import type { CacheConfig } from "./cache-config";

/**
 * The service's Redis client and cache: connected now if Redis answers (if not, the service
 * starts anyway, uncached, and ioredis keeps reconnecting), closed in the "clients" stage.
 */
export async function startCache(options: {
  config: CacheConfig;
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
}): Promise<{ cache: Cache; redis: Redis }> {
  const redis = await connectRedis({
    url: options.config.REDIS_URL,
    logger: options.logger,
    lifecycle: options.lifecycle,
    unavailableMessage: "starting without Redis: serving uncached until it answers",
  });
  const cache = new Cache({
    redis,
    logger: options.logger,
    registry: options.registry,
    cooldownMs: options.config.CACHE_COOLDOWN_MS,
    keyPrefix: options.config.CACHE_KEY_PREFIX,
  });
  return { cache, redis };
}
