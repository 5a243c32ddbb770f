import { descriptorSetPath } from "@clinic/proto";
import type { CallerResolver } from "../auth/caller";
import type { CommonConfig } from "../config/shared-schemas";
import { createGrpcClient, type ClientConstructor, type GrpcClientOptions } from "../grpc/grpc-client";
import type { RegisteredService } from "../grpc/grpc-server";
import type { Lifecycle } from "./lifecycle";
import { startServiceHost, type ServiceHost } from "./service-host";
import type { ServiceContext } from "./start-service";

/** A started gRPC service: where it listens, its server, and the lifecycle that stops it. */
export interface RunningGrpcService extends ServiceHost {
  lifecycle: Lifecycle;
}

/**
 * The last step of a gRPC service's start-up: serve its handlers (with the platform's descriptor
 * set, so reflection answers for every message), metrics, and report SERVING.
 */
export async function serveGrpc(
  service: ServiceContext<CommonConfig>,
  services: readonly RegisteredService<any>[],
  options: { callers?: CallerResolver } = {},
): Promise<RunningGrpcService> {
  const host = await startServiceHost({ ...service, descriptorSetPath, services, ...options });
  return { ...host, lifecycle: service.lifecycle };
}

/**
 * A client of another service, closed in the lifecycle's "clients" stage (after this service's
 * own server and workers have stopped using it). `label` names it in the shutdown log.
 */
export function openGrpcClient<C extends { close(): void }>(
  lifecycle: Lifecycle,
  label: string,
  Client: ClientConstructor<C>,
  options: GrpcClientOptions,
): C {
  const client = createGrpcClient(Client, options);
  lifecycle.onShutdown(label, "clients", async () => client.close());
  return client;
}
