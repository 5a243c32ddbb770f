import { trace } from "@opentelemetry/api";
import type { EdgeFastify } from "./type-provider";

/**
 * Names the HTTP server span after the route pattern (`POST /api/v1/bookings/:bookingId/confirm`)
 * and sets `http.route`: the http instrumentation alone sees only the method, and raw URLs would
 * make every booking its own operation in Jaeger.
 */
export function registerHttpTracing(app: EdgeFastify): void {
  app.addHook("onRequest", async (request) => {
    const route = request.routeOptions.url;
    const span = trace.getActiveSpan();
    if (!span || !route || request.is404) return;
    span.updateName(`${request.method} ${route}`);
    span.setAttribute("http.route", route);
  });
}
