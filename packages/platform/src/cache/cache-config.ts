import { z } from "zod";
import { env } from "../config/env-fields";
import { redisConfigSchema } from "../config/shared-schemas";

/** Settings every cached service shares. */
export const cacheConfigSchema = redisConfigSchema.extend({
  /** Fill the caches at start (in the background where it takes long). */
  CACHE_WARM_ON_START: env.bool().default(true),
  /** How long Redis is bypassed after a failure before it is tried again. */
  CACHE_COOLDOWN_MS: env.positiveInt().default(1_000),
  /**
   * Put before every key. Empty (the default) gives the design's key names as they are; set it
   * when several deployments or test stacks, each with its own databases, share one Redis.
   */
  CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]*$/, "letters, digits and _ . : - only").default(""),
});
export type CacheConfig = z.output<typeof cacheConfigSchema>;
