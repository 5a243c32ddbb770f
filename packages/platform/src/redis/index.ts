/** @clinic/platform/redis: Redis clients that fail fast while Redis is away. */
export { connectRedis, createRedis, Redis } from "./redis";
