import { LATENCY_BUCKETS } from "@clinic/platform";
import type { EdgeFastify } from "./type-provider";
import { Counter, Histogram, type Registry } from "prom-client";

/** Label for requests that matched no route: raw paths would make the label set unbounded. */
const UNMATCHED = "unmatched";

/**
 * HTTP RED metrics, labelled by route pattern (`/api/v1/doctors/:doctorId`), never by the raw
 * URL. Recorded when the response is finished, so errors and 404s are counted too.
 */
export function registerHttpMetrics(app: EdgeFastify, registry: Registry): void {
  const labelNames = ["method", "route", "status_code"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status code",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving an HTTP request to finishing its response",
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.is404 ? UNMATCHED : (request.routeOptions.url ?? UNMATCHED),
      status_code: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });
}
