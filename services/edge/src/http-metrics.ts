import { LATENCY_BUCKETS } from "@clinic/platform/metrics";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EdgeFastify } from "./type-provider";
import { Counter, Histogram, type Registry } from "prom-client";

/** Label for requests that matched no route: raw paths would make the label set unbounded. */
const UNMATCHED = "unmatched";

export interface HttpMetrics {
  /**
   * A streamed answer (Server-Sent Events) is counted when its head is written, with the time
   * it took to open: its end, hours later, says nothing about how the request went, and its
   * duration would drown every latency quantile of the edge.
   */
  streamOpened(request: FastifyRequest, reply: FastifyReply): void;
}

/**
 * HTTP RED metrics, labelled by route pattern (`/api/v1/doctors/:doctorId`), never by the raw
 * URL. Recorded when the response is finished, so errors and 404s are counted too.
 */
export function registerHttpMetrics(app: EdgeFastify, registry: Registry): HttpMetrics {
  const labelNames = ["method", "route", "status_code"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status code",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving an HTTP request to finishing its response (to writing its head, for streams)",
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const streamed = new WeakSet<FastifyRequest>();
  const record = (request: FastifyRequest, reply: FastifyReply, statusCode: number): void => {
    const labels = {
      method: request.method,
      route: request.is404 ? UNMATCHED : (request.routeOptions.url ?? UNMATCHED),
      status_code: String(statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  };
  app.addHook("onResponse", async (request, reply) => {
    if (!streamed.has(request)) record(request, reply, reply.statusCode);
  });
  return {
    streamOpened(request, reply) {
      streamed.add(request);
      record(request, reply, reply.raw.statusCode);
    },
  };
}
