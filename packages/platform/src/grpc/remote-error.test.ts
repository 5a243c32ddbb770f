import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { DomainError, ERROR_REASON_KEY, ERROR_VIOLATIONS_KEY } from "../errors/errors";
import { fromRemoteError, type RemoteErrorPolicy } from "./remote-error";

function serviceError(code: status, details: string, reason?: string): ServiceError {
  const metadata = new Metadata();
  if (reason) metadata.set(ERROR_REASON_KEY, reason);
  if (code === status.INVALID_ARGUMENT) metadata.set(ERROR_VIOLATIONS_KEY, JSON.stringify([{ field: "capacity", message: "too low" }]));
  return Object.assign(new Error(details), { code, details, metadata });
}

const named: RemoteErrorPolicy = { peer: "booking", peerDown: "named", unexplained: "internal" };
const asSent: RemoteErrorPolicy = { peer: "slot", peerDown: "as-sent", unexplained: "unavailable" };

describe("fromRemoteError", () => {
  it("keeps a domain answer's kind, reason and violations under either policy", () => {
    for (const policy of [named, asSent]) {
      const precondition = fromRemoteError(serviceError(status.FAILED_PRECONDITION, "held 3", "CAPACITY_BELOW_HELD"), policy);
      expect(precondition).toBeInstanceOf(DomainError);
      expect(precondition).toMatchObject({ kind: "unprocessable", reason: "CAPACITY_BELOW_HELD", message: "held 3" });
      const invalid = fromRemoteError(serviceError(status.INVALID_ARGUMENT, "bad", "VALIDATION_FAILED"), policy);
      expect(invalid).toMatchObject({ kind: "invalid_argument", violations: [{ field: "capacity", message: "too low" }] });
    }
  });

  it("names the peer when it is down or too slow (peerDown: named)", () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED]) {
      expect(fromRemoteError(serviceError(code, "gone", "SOMETHING"), named)).toMatchObject({
        kind: "unavailable",
        reason: "BOOKING_SERVICE_UNAVAILABLE",
        message: `the booking service did not answer (${status[code]}); try again`,
      });
    }
  });

  it("passes UNAVAILABLE on as sent and reports other failures as the peer unavailable (peerDown: as-sent)", () => {
    expect(fromRemoteError(serviceError(status.UNAVAILABLE, "No connection established"), asSent)).toMatchObject({
      kind: "unavailable",
      reason: "UNAVAILABLE",
      message: "No connection established",
    });
    for (const code of [status.DEADLINE_EXCEEDED, status.INTERNAL, status.UNKNOWN]) {
      expect(fromRemoteError(serviceError(code, "boom"), asSent)).toMatchObject({
        kind: "unavailable",
        reason: "SLOT_SERVICE_UNAVAILABLE",
        message: "slot service did not answer",
      });
    }
  });

  it("leaves INTERNAL and UNKNOWN as they came (unexplained: internal), and any non-gRPC error", () => {
    const internal = serviceError(status.INTERNAL, "internal error");
    expect(fromRemoteError(internal, named)).toBe(internal);
    const plain = new Error("bug");
    expect(fromRemoteError(plain, named)).toBe(plain);
    expect(fromRemoteError(plain, asSent)).toBe(plain);
  });
});
