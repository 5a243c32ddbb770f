import { Redis } from "ioredis";
import type { Lifecycle } from "../service/lifecycle";
import type { Logger } from "../logging/logger";

export { Redis } from "ioredis";

/**
 * An ioredis client for a cache that must never take the service down: commands fail fast
 * while Redis is unreachable (no offline queue), and reconnects keep trying in the background.
 */
export function createRedis(url: string, logger: Logger, options: { commandTimeoutMs?: number } = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // Commands issued in one tick by concurrent requests (cache invalidations, rate-limit
    // scripts) go out as one write: under load, one syscall for many requests.
    enableAutoPipelining: true,
  });
  let lastState = "";
  redis.on("error", (err: Error) => {
    // One line per state change, not one per reconnect attempt.
    if (lastState !== "error") logger.warn({ err: err.message }, "redis unavailable");
    lastState = "error";
  });
  redis.on("ready", () => {
    if (lastState === "error") logger.info("redis available again");
    lastState = "ready";
  });
  return redis;
}

/**
 * A Redis client connected now if Redis answers; if not, the caller starts anyway (saying what it
 * does without Redis) and ioredis keeps reconnecting in the background. Closed in the "clients"
 * stage of shutdown.
 */
export async function connectRedis(options: {
  url: string;
  logger: Logger;
  lifecycle: Lifecycle;
  unavailableMessage: string;
  commandTimeoutMs?: number;
}): Promise<Redis> {
  const redis = createRedis(options.url, options.logger, {
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
  });
  options.lifecycle.onShutdown("redis", "clients", async () => {
    if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  });
  try {
    await redis.connect();
  } catch (err) {
    // createRedis has logged the warning already.
    options.logger.info({ err: err instanceof Error ? err.message : String(err) }, options.unavailableMessage);
  }
  return redis;
}
