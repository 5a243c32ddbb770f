import { status } from "@grpc/grpc-js";
import { DomainError, domainErrorFromRemote, fromServiceError, isServiceError } from "../errors/errors";

export interface RemoteErrorPolicy {
  /** The service called, as in its reason: "slot" gives `SLOT_SERVICE_UNAVAILABLE`. */
  peer: string;
  /**
   * UNAVAILABLE or DEADLINE_EXCEEDED (the peer down or too slow, after the client's retries of
   * idempotent methods):
   * - "named": the peer's own unavailable error (`SLOT_SERVICE_UNAVAILABLE`, "try again"),
   *   whatever reason the peer sent;
   * - "as-sent": UNAVAILABLE keeps the peer's reason (a plain "UNAVAILABLE" when the
   *   connection failed); DEADLINE_EXCEEDED counts as unexplained.
   */
  peerDown: "named" | "as-sent";
  /**
   * A status with no domain meaning (INTERNAL, UNKNOWN, ...): "internal" passes the
   * ServiceError on (it becomes INTERNAL for our caller); "unavailable" reports the peer unavailable.
   */
  unexplained: "internal" | "unavailable";
}

function peerUnavailable(peer: string, detail: string): DomainError {
  return new DomainError("unavailable", `${peer.toUpperCase()}_SERVICE_UNAVAILABLE`, detail);
}

/**
 * A failed call to another service, as this service's own error. A domain answer
 * (FAILED_PRECONDITION CAPACITY_BELOW_HELD, NOT_FOUND SLOT_NOT_FOUND, ABORTED ...) keeps its code,
 * reason, field violations and info, so its meaning reaches our caller unchanged; a dead peer
 * becomes UNAVAILABLE, never INTERNAL, so our caller may retry. A non-gRPC error is returned as it is.
 */
export function fromRemoteError(err: unknown, policy: RemoteErrorPolicy): unknown {
  if (!isServiceError(err)) return err;
  if (policy.peerDown === "named" && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) {
    return peerUnavailable(policy.peer, `the ${policy.peer} service did not answer (${status[err.code]}); try again`);
  }
  const domain = domainErrorFromRemote(fromServiceError(err));
  if (domain) return domain;
  return policy.unexplained === "unavailable" ? peerUnavailable(policy.peer, `${policy.peer} service did not answer`) : err;
}
