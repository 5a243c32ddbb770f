import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import type { Caller, CallerResolver } from "../auth/caller";
import { toGrpcStatus } from "../errors/errors";
import { HealthBoard } from "./health";
import { assertMessageShape } from "./message-guard";
import type { Logger } from "../logging/logger";
import type { ServiceMetrics } from "../metrics/metrics";

/** What a handler sees of its call besides the request. */
export interface CallContext {
  metadata: grpc.Metadata;
  /** Aborted when the client cancels or the deadline passes, so long work can stop early. */
  signal: AbortSignal;
  deadline: grpc.Deadline;
  peer: string;
  /** Who the call acts for, verified from its `authorization` metadata before the handler runs. */
  caller: Caller;
}

type UnaryMethod<Req, Res> = grpc.MethodDefinition<Req, Res> & {
  requestStream: false;
  responseStream: false;
};

/** A ts-proto `...Service` definition with only unary methods, the shape our protos have. */
export type UnaryServiceDefinition = Record<string, UnaryMethod<any, any>>;

/** Handlers as plain async functions; thrown DomainErrors become statuses in one place. */
export type ServiceHandlers<S extends UnaryServiceDefinition> = {
  [K in keyof S]: S[K] extends grpc.MethodDefinition<infer Req, infer Res>
    ? (request: Req, ctx: CallContext) => Promise<Res>
    : never;
};

export interface RegisteredService<S extends UnaryServiceDefinition = UnaryServiceDefinition> {
  /** Fully-qualified name, e.g. "clinic.doctor.v1.DoctorService" (also its health name). */
  name: string;
  definition: S;
  handlers: ServiceHandlers<S>;
}

/** Pairs a generated definition with its handlers so type inference checks every method. */
export function defineService<S extends UnaryServiceDefinition>(
  name: string,
  definition: S,
  handlers: ServiceHandlers<S>,
): RegisteredService<S> {
  return { name, definition, handlers };
}

function splitPath(path: string): { service: string; method: string } {
  const [, service = "", method = ""] = path.split("/");
  return { service, method };
}

/**
 * Logs and measures every call from the status actually sent, whatever produced it (a handler,
 * a deserialization failure, a deadline).
 */
function observabilityInterceptor(logger: Logger, metrics: ServiceMetrics): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const started = process.hrtime.bigint();
    const { service, method } = splitPath(descriptor.path);
    const responder = new grpc.ResponderBuilder()
      .withSendStatus((statusObject, next) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const code = grpc.status[statusObject.code] ?? String(statusObject.code);
        const labels = { grpc_service: service, grpc_method: method, grpc_code: code };
        metrics.grpcServerHandled.inc(labels);
        metrics.grpcServerDuration.observe(labels, seconds);
        const line = { grpc: { service, method, code }, duration_ms: Math.round(seconds * 1e4) / 10 };
        if (statusObject.code === grpc.status.OK) logger.debug(line, "grpc call");
        else if (code === "INTERNAL" || code === "UNKNOWN") logger.error(line, "grpc call failed");
        // A refused request (full slot, bad input) is an answer, not an incident: under contention
        // there are thousands per second, which metrics count and debug logs can show.
        else logger.debug({ ...line, reason: statusObject.metadata?.get("clinic-error-reason")[0] }, "grpc call rejected");
        next(statusObject);
      })
      .build();
    return new grpc.ServerInterceptingCall(call, responder);
  };
}

function adaptHandlers(
  registered: RegisteredService,
  logger: Logger,
  callers: CallerResolver,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  const paths = Object.fromEntries(
    Object.entries(registered.definition as Record<string, { path: string }>).map(([key, method]) => [key, method.path]),
  );
  for (const [key, handler] of Object.entries(registered.handlers)) {
    const unary: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      const controller = new AbortController();
      call.on("cancelled", () => controller.abort());
      callers
        .resolve(call.metadata)
        .then((caller) =>
          handler(call.request, {
            metadata: call.metadata,
            signal: controller.signal,
            deadline: call.getDeadline(),
            peer: call.getPeer(),
            caller,
          }),
        )
        .then((response: unknown) => {
          // A malformed response is a bug here, not the caller's: INTERNAL, logged below.
          assertMessageShape(paths[key]!, "response", response);
          return response;
        })
        .then(
        (response: unknown) => callback(null, response),
        (err: unknown) => {
          const statusObject = toGrpcStatus(err);
          if (statusObject.internal) {
            logger.error({ err, grpc: { method: key } }, "unhandled error in handler");
          }
          callback({ code: statusObject.code, details: statusObject.details, metadata: statusObject.metadata });
        },
      );
    };
    implementation[key] = unary;
  }
  return implementation;
}

export interface GrpcServerOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  services: readonly RegisteredService<any>[];
  /** Verifies the caller of every call (see caller.ts). */
  callers: CallerResolver;
  /** A FileDescriptorSet (buf build) to serve through server reflection. */
  descriptorSetPath?: string;
}

export interface GrpcServer {
  server: grpc.Server;
  health: HealthBoard;
  /** Binds and starts listening; resolves to the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /**
   * Graceful stop: report NOT_SERVING, wait `graceMs` for balancers to notice, end health
   * watches, stop accepting, let in-flight calls finish within `timeoutMs`, then force.
   */
  shutdown(options: { graceMs: number; timeoutMs: number }): Promise<{ forced: boolean }>;
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { logger, metrics, services } = options;
  const server = new grpc.Server({
    interceptors: [observabilityInterceptor(logger, metrics)],
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
  });
  const health = new HealthBoard(services.map((s) => s.name));
  health.addToServer(server);
  for (const registered of services) {
    server.addService(registered.definition, adaptHandlers(registered, logger, options.callers));
  }
  if (options.descriptorSetPath) {
    const definition = protoLoader.loadFileDescriptorSetFromBuffer(readFileSync(options.descriptorSetPath));
    new ReflectionService(definition).addToServer(server);
  }

  return {
    server,
    health,
    listen: (host, port) =>
      new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        );
      }),
    shutdown: async ({ graceMs, timeoutMs }) => {
      health.setAll("NOT_SERVING");
      if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
      health.endWatches();
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) server.forceShutdown();
      return { forced: !drained };
    },
  };
}
