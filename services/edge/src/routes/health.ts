import type { EdgeFastify } from "../type-provider";
import type { Backends } from "../backends";

export interface HealthState {
  /** Set when shutdown begins, so load balancers stop sending traffic before the listener closes. */
  draining: boolean;
}

/**
 * Probes for the orchestrator, outside the public API and its OpenAPI document. `/healthz` says
 * the process serves HTTP at all (liveness: restart me if not); `/readyz` says requests can be
 * served now, i.e. every gRPC backend answers its health check (readiness: route to me).
 */
export function healthRoutes(app: EdgeFastify, backends: Backends, state: HealthState, timeoutMs: number): void {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    if (state.draining) return reply.code(503).send({ status: "draining" });
    const { ready, backends: statuses } = await backends.readiness(timeoutMs);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", backends: statuses });
  });
}
