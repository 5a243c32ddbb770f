/** @clinic/platform/grpc: gRPC server and clients: handler definitions, health, message shape checks, request validation. */
export {
  type ClientConstructor,
  createGrpcClient,
  type GrpcClientOptions,
  retryServiceConfig,
  unary,
} from "./grpc-client";
export {
  type CallContext,
  createGrpcServer,
  defineService,
  type GrpcServer,
  type GrpcServerOptions,
  type RegisteredService,
  type ServiceHandlers,
  type UnaryServiceDefinition,
} from "./grpc-server";
export { HealthBoard, healthServiceDefinition, type ServingStatus } from "./health";
export { assertMessageShape, MalformedMessageError, messageShapes, requestShapeInterceptor } from "./message-guard";
export { decodeCursor, encodeCursor, Validator } from "./validation";
export { fromRemoteError, type RemoteErrorPolicy } from "./remote-error";
export {
  createPromiseClient,
  type GeneratedClientConstructor,
  type OwnedPromiseClient,
  type PromiseClient,
  promiseClient,
  type RpcOptions,
} from "./promise-client";
export { pageOf } from "./paging";
export { uuidArgument } from "./arguments";
