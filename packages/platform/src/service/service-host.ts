import { createJwksCallerResolver, type CallerResolver } from "../auth/caller";
import type { CommonConfig } from "../config/shared-schemas";
import { createGrpcServer, type GrpcServer, type RegisteredService } from "../grpc/grpc-server";
import type { Lifecycle } from "./lifecycle";
import type { Logger } from "../logging/logger";
import { startMetricsServer, type ServiceMetrics } from "../metrics/metrics";

export interface ServiceHost {
  grpc: GrpcServer;
  grpcPort: number;
  metricsPort: number;
}

/**
 * The last step of every service's start-up: serve metrics, serve gRPC, then report SERVING.
 * Dependencies (database, Kafka, Redis) are already up when this runs, so SERVING means ready.
 * The server drains in the lifecycle's first stage, before anything it uses is closed.
 */
export async function startServiceHost(options: {
  config: CommonConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  lifecycle: Lifecycle;
  services: readonly RegisteredService<any>[];
  descriptorSetPath?: string;
  /** Defaults to verifying tokens against the edge's JWKS (AUTH_JWKS_URL). */
  callers?: CallerResolver;
}): Promise<ServiceHost> {
  const { config, logger, metrics, lifecycle } = options;
  const grpc = createGrpcServer({
    logger,
    metrics,
    services: options.services,
    callers:
      options.callers ??
      createJwksCallerResolver({ jwksUrl: config.AUTH_JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }),
    ...(options.descriptorSetPath ? { descriptorSetPath: options.descriptorSetPath } : {}),
  });
  const metricsServer = await startMetricsServer(metrics.registry, config.METRICS_PORT, config.GRPC_HOST);
  const grpcPort = await grpc.listen(config.GRPC_HOST, config.GRPC_PORT);
  lifecycle.onShutdown("grpc server", "traffic", async () => {
    const { forced } = await grpc.shutdown({ graceMs: config.SHUTDOWN_GRACE_MS, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
    if (forced) logger.warn("in-flight calls outlived the shutdown timeout and were cancelled");
  });
  lifecycle.onShutdown("metrics server", "telemetry", () => metricsServer.close());
  grpc.health.setAll("SERVING");
  logger.info({ grpcPort, metricsPort: metricsServer.port }, "serving");
  return { grpc, grpcPort, metricsPort: metricsServer.port };
}
