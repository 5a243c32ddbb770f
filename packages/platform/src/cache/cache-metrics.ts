import { Counter, Gauge, type Registry } from "prom-client";

export interface CacheMetrics {
  requests: Counter<"cache" | "result">;
  invalidations: Counter<"cache">;
  errors: Counter<"cache" | "op">;
  available: Gauge;
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  return {
    requests: new Counter({
      name: "cache_requests_total",
      help: "Cache reads by cache and result: hit, miss (loaded and stored), error (Redis failed or skipped; loaded)",
      labelNames: ["cache", "result"],
      registers: [registry],
    }),
    invalidations: new Counter({
      name: "cache_invalidations_total",
      help: "Keys and list generations invalidated after a write, by cache",
      labelNames: ["cache"],
      registers: [registry],
    }),
    errors: new Counter({
      name: "cache_errors_total",
      help: "Failed or skipped Redis operations, by cache and operation (get, fill, invalidate, generation)",
      labelNames: ["cache", "op"],
      registers: [registry],
    }),
    available: new Gauge({
      name: "cache_available",
      help: "1 while Redis answers, 0 while the cache is bypassed after a failure",
      registers: [registry],
    }),
  };
}
