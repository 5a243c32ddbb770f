import * as grpc from "@grpc/grpc-js";
import { MalformedMessageError, messageShapes } from "@clinic/proto/shapes";

/**
 * Every message this process sends over gRPC is checked against its proto schema first (see
 * MessageShapes in @clinic/proto): a request or response with a missing field fails loudly
 * instead of being encoded with the text "undefined" in it.
 */
export { MalformedMessageError, messageShapes };

/** Throws when `value` is not a well-formed request or response of the method at `path`. */
export function assertMessageShape(path: string, side: "request" | "response", value: unknown): void {
  const problem = messageShapes().forMethod(path, side)?.(value);
  if (problem) throw new MalformedMessageError(`${side} of ${path}`, problem);
}

/**
 * Client side: the request is checked as it is sent. The throw reaches the caller synchronously
 * from the generated method (for a unary call, inside `unary()`'s promise, so it rejects).
 */
export const requestShapeInterceptor: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    sendMessage(message, next) {
      assertMessageShape(options.method_definition.path, "request", message);
      next(message);
    },
  });
