import type { AddressInfo } from "node:net";
import { Lifecycle, createLogger, createServiceMetrics, startMetricsServer, startOrRelease, type Logger } from "@clinic/platform";
import { startAuth, type AuthService } from "./auth";
import { createBackends } from "./backends";
import type { EdgeConfig } from "./config";
import { buildServer, type ServerState } from "./server";
import type { EdgeFastify } from "./type-provider";

export interface RunningEdge {
  /** The HTTP port actually bound (useful when HTTP_PORT is 0). */
  port: number;
  metricsPort: number;
  lifecycle: Lifecycle;
  /** For tests: the Fastify instance (inject, route table, OpenAPI document). */
  http: EdgeFastify;
  /** Accounts and tokens; undefined when the configuration has no database (accounts off). */
  auth?: AuthService;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wires the edge from its configuration; `main.ts` and tests both start it here. */
export async function startEdge(config: EdgeConfig, logger?: Logger): Promise<RunningEdge> {
  const log = logger ?? createLogger({ service: "edge", level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(log);
  const metrics = createServiceMetrics("edge");
  const state: ServerState = { draining: false, closing: false };
  return startOrRelease(lifecycle, async () => {
    // gRPC channels connect lazily: the edge starts (and reports not ready) while a backend is down.
    const backends = createBackends(config);
    lifecycle.onShutdown("grpc clients", "clients", async () => backends.close());
    const auth = await startAuth({ config, lifecycle, registry: metrics.registry, logger: log });
    const http = await buildServer({
      config,
      logger: log,
      backends,
      registry: metrics.registry,
      state,
      ...(auth ? { auth } : {}),
    });
    // Stop taking traffic and drain it before the clients it uses go away.
    lifecycle.onShutdown("http server", "traffic", async () => {
      state.draining = true; // /readyz now fails, so load balancers stop sending new requests
      await sleep(config.SHUTDOWN_GRACE_MS);
      state.closing = true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), config.SHUTDOWN_TIMEOUT_MS);
      });
      const closed = http.close().then(() => false);
      const forced = await Promise.race([closed, timedOut]);
      clearTimeout(timer);
      if (forced) {
        log.warn("in-flight HTTP requests outlived the shutdown timeout and were cut off");
        http.server.closeAllConnections();
        await closed;
      }
    });
    const metricsServer = await startMetricsServer(metrics.registry, config.METRICS_PORT, config.HTTP_HOST);
    lifecycle.onShutdown("metrics server", "telemetry", () => metricsServer.close());
    await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
    const port = (http.server.address() as AddressInfo).port;
    log.info({ port, metricsPort: metricsServer.port }, "serving");
    return { port, metricsPort: metricsServer.port, lifecycle, http, ...(auth ? { auth } : {}) };
  });
}
