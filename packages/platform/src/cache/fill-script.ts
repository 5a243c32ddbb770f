import type { ChainableCommander, Redis } from "ioredis";

/**
 * KEYS[1] = key; ARGV = expected ('' for absent), value, ttl seconds. Sets the value only while
 * the key still holds what the reader saw, so a concurrent invalidation wins over a late fill.
 */
export const FILL_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** `defineCommand` adds the script as a method of the client and of its pipelines. */
export type FillingRedis = Redis & {
  clinicCacheFill(key: string, expected: string, value: string, ttlSeconds: number): Promise<number>;
};
export type FillingPipeline = ChainableCommander & {
  clinicCacheFill(key: string, expected: string, value: string, ttlSeconds: number): FillingPipeline;
};
