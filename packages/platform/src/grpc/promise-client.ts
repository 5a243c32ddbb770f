import * as grpc from "@grpc/grpc-js";
import { createGrpcClient, type GrpcClientOptions } from "./grpc-client";

/** How one call is made: the metadata it carries (the caller's token), its own deadline, a way to cancel it. */
export interface RpcOptions {
  metadata?: grpc.Metadata;
  /** Replaces the client's default deadline (GrpcClientOptions.deadlineMs) for this call. */
  deadline?: grpc.Deadline;
  /** Aborting it cancels the call; the promise rejects with the CANCELLED ServiceError. */
  signal?: AbortSignal;
}

/** A method of a ts-proto `outputServices=grpc-js` service definition (`SlotServiceService.getSlot`). */
interface MethodDefinition {
  requestStream: boolean;
  responseStream: boolean;
}

type UnaryNames<D> = {
  [K in keyof D]: D[K] extends { requestStream: false; responseStream: false } ? K : never;
}[keyof D] &
  string;
type RequestOf<M> = M extends { requestSerialize: (value: infer Req) => Buffer } ? Req : never;
type ResponseOf<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Res } ? Res : never;

/**
 * Every unary method of the service definition `D`, returning a promise:
 * `await slots.getSlot({ id }, { metadata })`. The methods are plain functions (no `this`), so a
 * method can be passed around without binding it to its client.
 */
export type PromiseClient<D> = {
  readonly [K in UnaryNames<D>]: (request: RequestOf<D[K]>, options?: RpcOptions) => Promise<ResponseOf<D[K]>>;
};

type CallbackMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

function callUnary(client: grpc.Client, name: string, request: unknown, options: RpcOptions): Promise<unknown> {
  const { metadata = new grpc.Metadata(), deadline, signal } = options;
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    // Looked up on the instance at call time: the telemetry instrumentation wraps the generated
    // client's methods, and the call must go through its wrapper to be traced.
    const method = (client as unknown as Record<string, CallbackMethod>)[name]!;
    const cancel = (): void => call.cancel();
    const call = method.call(client, request, metadata, deadline === undefined ? {} : { deadline }, (error, response) => {
      signal?.removeEventListener("abort", cancel);
      if (error) reject(error);
      else resolve(response);
    });
    signal?.addEventListener("abort", cancel, { once: true });
  });
}

/**
 * The promise form of a generated grpc-js client. The method list comes from `definition`, the
 * generated service definition the client was made from (`slotV1.SlotServiceService`); streaming
 * methods are left out. Errors are the grpc-js `ServiceError`s the callback form gives, so
 * `fromServiceError` and the remote-error translation read them as before.
 */
export function promiseClient<D extends Record<string, MethodDefinition>>(client: grpc.Client, definition: D): PromiseClient<D> {
  const methods: Record<string, (request: unknown, options?: RpcOptions) => Promise<unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream || method.responseStream) continue;
    methods[name] = (request, options = {}) => callUnary(client, name, request, options);
  }
  return Object.freeze(methods) as unknown as PromiseClient<D>;
}

/** A generated client constructor: ts-proto exposes the service definition it was made from as `service`. */
export interface GeneratedClientConstructor<C extends grpc.Client, D> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>): C;
  service: D;
}

/** A promise client with its channel: `close()` ends it, `channel` lets health checks share it. */
export type OwnedPromiseClient<D> = PromiseClient<D> & {
  readonly grpc: grpc.Client;
};

/**
 * `createGrpcClient` (deadline, retries of idempotent methods, reconnect backoff, request shape
 * check) in promise form: `createPromiseClient(slotV1.SlotServiceClient, options).getSlot(...)`.
 */
export function createPromiseClient<C extends grpc.Client, D extends Record<string, MethodDefinition>>(
  Client: GeneratedClientConstructor<C, D>,
  options: GrpcClientOptions,
): OwnedPromiseClient<D> {
  const client = createGrpcClient(Client, options);
  return Object.freeze({ ...promiseClient(client, Client.service), grpc: client });
}
