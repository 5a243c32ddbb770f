import * as grpc from "@grpc/grpc-js";
import { requestShapeInterceptor } from "./message-guard";

export type ClientConstructor<C> = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => C;

export interface GrpcClientOptions {
  /** "host:port" of the service (in Kubernetes, its Service name). */
  address: string;
  /** Fully-qualified service name, e.g. "clinic.slot.v1.SlotService". */
  serviceName: string;
  /** Deadline applied to every call that does not set its own. */
  deadlineMs: number;
  /**
   * Methods safe to repeat (reads, and writes made idempotent by a key). Only these are retried,
   * and only on UNAVAILABLE, which gRPC raises when the request never reached a handler.
   */
  idempotentMethods?: readonly string[];
  maxAttempts?: number;
  /** Run before the deadline interceptor on every call (e.g. to attach metadata). */
  interceptors?: readonly grpc.Interceptor[];
}

export const INITIAL_RECONNECT_BACKOFF_MS = 100;
export const MAX_RECONNECT_BACKOFF_MS = 500;

/** Every call gets a deadline: a call without one can hang forever on a stuck peer. */
function defaultDeadlineInterceptor(deadlineMs: number): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(
      nextCall(options.deadline === undefined ? { ...options, deadline: Date.now() + deadlineMs } : options),
    );
}

/** gRPC service config enabling transparent retries for the idempotent methods only. */
export function retryServiceConfig(options: GrpcClientOptions): string | undefined {
  const methods = options.idempotentMethods ?? [];
  if (methods.length === 0) return undefined;
  return JSON.stringify({
    methodConfig: [
      {
        name: methods.map((method) => ({ service: options.serviceName, method })),
        retryPolicy: {
          maxAttempts: options.maxAttempts ?? 3,
          initialBackoff: "0.05s",
          maxBackoff: "1s",
          backoffMultiplier: 2,
          retryableStatusCodes: ["UNAVAILABLE"],
        },
      },
    ],
  });
}

export function createGrpcClient<C>(Client: ClientConstructor<C>, options: GrpcClientOptions): C {
  const serviceConfig = retryServiceConfig(options);
  return new Client(options.address, grpc.credentials.createInsecure(), {
    interceptors: [...(options.interceptors ?? []), defaultDeadlineInterceptor(options.deadlineMs), requestShapeInterceptor],
    "grpc.enable_retries": 1,
    "grpc.keepalive_time_ms": 30_000,
    // grpc-js backs off reconnects up to 120 s by default, growing with the outage: a peer that
    // was down for 15 s stayed unreachable for seconds after it came back. Internal peers are
    // on the same network, so a connection attempt costs next to nothing. grpc-js adds ±20 %
    // jitter to every backoff: 500 ms makes the worst case 600 ms, inside the promise that
    // callers reach a restarted peer within a second of it serving.
    "grpc.initial_reconnect_backoff_ms": INITIAL_RECONNECT_BACKOFF_MS,
    "grpc.max_reconnect_backoff_ms": MAX_RECONNECT_BACKOFF_MS,
    ...(serviceConfig ? { "grpc.service_config": serviceConfig } : {}),
  });
}

type UnaryClientMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * Promise form of a generated unary method. Pass it bound: `unary(client.getSlot.bind(client), req)`.
 */
export function unary<Req, Res>(
  method: UnaryClientMethod<Req, Res>,
  request: Req,
  metadata: grpc.Metadata = new grpc.Metadata(),
  options: Partial<grpc.CallOptions> = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method(request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
