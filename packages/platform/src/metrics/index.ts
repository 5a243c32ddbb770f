/** @clinic/platform/metrics: Prometheus metrics: the per-service registry and its HTTP endpoint. */
export {
  createServiceMetrics,
  LATENCY_BUCKETS,
  type MetricsServer,
  type ServiceMetrics,
  startMetricsServer,
} from "./metrics";
