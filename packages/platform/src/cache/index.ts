/** @clinic/platform/cache: Cache-aside over Redis: keyed and list caches, their config and starter. */
export { type CacheConfig, cacheConfigSchema } from "./cache-config";
export { Cache, type CacheOptions } from "./cache";
export { type CacheMetrics } from "./cache-metrics";
export { type Codec, jsonCodec } from "./codec";
export { KeyedCache } from "./keyed-cache";
export { ListCache } from "./list-cache";
export { startCache } from "./start-cache";
