import type { Server, ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { service as healthServiceDefinition } from "grpc-health-check";

export { healthServiceDefinition };

export type ServingStatus = "SERVING" | "NOT_SERVING";

interface HealthCheckRequest {
  service: string;
}
/** The definition is loaded by proto-loader with enums as their names. */
interface HealthCheckResponse {
  status: ServingStatus | "SERVICE_UNKNOWN";
}

/**
 * `grpc.health.v1.Health` with Check and Watch, for "" (the whole process) and each service
 * name. Written here rather than taken from grpc-health-check because shutdown must be able to
 * end open Watch streams: otherwise a watching load balancer keeps the server from draining.
 */
export class HealthBoard {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>>();

  constructor(serviceNames: readonly string[]) {
    // Everything starts NOT_SERVING: a process is healthy only once its dependencies are up.
    for (const name of ["", ...serviceNames]) this.statuses.set(name, "NOT_SERVING");
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  set(service: string, value: ServingStatus): void {
    if (!this.statuses.has(service)) throw new Error(`unknown health service name "${service}"`);
    if (this.statuses.get(service) === value) return;
    this.statuses.set(service, value);
    for (const call of this.watchers.get(service) ?? []) call.write({ status: value });
  }

  setAll(value: ServingStatus): void {
    for (const name of this.statuses.keys()) this.set(name, value);
  }

  /** Ends every Watch stream (after the last status they saw), so the server can drain. */
  endWatches(): void {
    for (const calls of this.watchers.values()) {
      for (const call of calls) call.end();
      calls.clear();
    }
  }

  addToServer(server: Server): void {
    server.addService(healthServiceDefinition, {
      Check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        callback: sendUnaryData<HealthCheckResponse>,
      ) => {
        const value = this.statuses.get(call.request.service);
        if (value === undefined) {
          callback({ code: status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
          return;
        }
        callback(null, { status: value });
      },
      Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const name = call.request.service;
        const value = this.statuses.get(name);
        // Per the health protocol, Watch on an unknown name reports SERVICE_UNKNOWN and stays open.
        call.write({ status: value ?? "SERVICE_UNKNOWN" });
        let set = this.watchers.get(name);
        if (!set) this.watchers.set(name, (set = new Set()));
        set.add(call);
        const forget = (): void => void set.delete(call);
        call.on("cancelled", forget);
        call.on("close", forget);
      },
    });
  }
}
