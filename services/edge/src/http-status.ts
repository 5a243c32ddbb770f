import { status } from "@grpc/grpc-js";

/**
 * The edge's one mapping from a gRPC status to an HTTP status. The switch is exhaustive: a new
 * gRPC code fails compilation here instead of silently becoming a 500.
 */
export function httpStatusFromGrpc(code: status): number {
  switch (code) {
    case status.OK:
      return 200;
    case status.CANCELLED:
      return 499; // the client went away before the answer (nginx's "client closed request")
    case status.UNKNOWN:
      return 500; // a peer failed without saying why
    case status.INVALID_ARGUMENT:
      return 400; // malformed request; the body names the fields
    case status.DEADLINE_EXCEEDED:
      return 504; // a downstream call ran out of time
    case status.NOT_FOUND:
      return 404;
    case status.ALREADY_EXISTS:
      return 409;
    case status.PERMISSION_DENIED:
      return 403; // authenticated, but not allowed to do this
    case status.RESOURCE_EXHAUSTED:
      return 429; // a rate or quota limit
    case status.FAILED_PRECONDITION:
      return 422; // well-formed, but cannot be applied as stated (e.g. idempotency key reuse)
    case status.ABORTED:
      return 409; // the resource's state conflicts (slot full, booking no longer pending)
    case status.OUT_OF_RANGE:
      return 400;
    case status.UNIMPLEMENTED:
      return 501;
    case status.INTERNAL:
      return 500;
    case status.UNAVAILABLE:
      return 503; // a dependency is down; safe to retry later
    case status.DATA_LOSS:
      return 500;
    case status.UNAUTHENTICATED:
      return 401;
  }
}
