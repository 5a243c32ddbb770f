import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { ERROR_REASON_KEY, ERROR_VIOLATIONS_KEY } from "@clinic/platform/errors";
import { toApiError, translateGrpcError } from "./errors";

/** A gRPC error as a client receives it, with the metadata a platform service attaches. */
function grpcError(code: status, details: string, reason?: string, violations?: unknown): ServiceError {
  const metadata = new Metadata();
  if (reason) metadata.set(ERROR_REASON_KEY, reason);
  if (violations) metadata.set(ERROR_VIOLATIONS_KEY, JSON.stringify(violations));
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

describe("gRPC errors in HTTP terms", () => {
  it.each([
    [status.ABORTED, "SLOT_FULL", 409],
    [status.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", 422],
    [status.FAILED_PRECONDITION, "SLOT_IN_PAST", 422],
    [status.NOT_FOUND, "BOOKING_NOT_FOUND", 404],
    [status.INVALID_ARGUMENT, "VALIDATION_FAILED", 400],
    [status.RESOURCE_EXHAUSTED, "RATE_LIMITED", 429],
  ])("status %s with reason %s answers %s and keeps the reason", (code, reason, http) => {
    const api = toApiError(grpcError(code, "domain message", reason));
    expect({ status: api.statusCode, code: api.code, message: api.message }).toEqual({ status: http, code: reason, message: "domain message" });
  });

  it("renames violated proto fields to the route's HTTP names", () => {
    const err = grpcError(status.INVALID_ARGUMENT, "...", "VALIDATION_FAILED", [
      { field: "name_query", message: "too long" },
      { field: "page_size", message: "must be an integer from 1 to 100" },
      { field: "slot_ids[3]", message: "must be a UUID" },
    ]);
    const api = translateGrpcError(err, { name_query: "q" }) as ReturnType<typeof toApiError>;
    expect(api.details).toEqual([
      { field: "q", message: "too long" },
      { field: "pageSize", message: "must be an integer from 1 to 100" },
      { field: "slotIds[3]", message: "must be a UUID" },
    ]);
    expect(api.message).toBe("q: too long; pageSize: must be an integer from 1 to 100; slotIds[3]: must be a UUID");
  });

  it("never passes on a backend's internal failure text", () => {
    for (const [code, http, reason] of [
      [status.INTERNAL, 500, "INTERNAL"],
      [status.UNKNOWN, 500, "INTERNAL"],
      [status.DATA_LOSS, 500, "INTERNAL"],
      [status.UNAVAILABLE, 503, "SERVICE_UNAVAILABLE"],
      [status.DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED"],
    ] as const) {
      const api = toApiError(grpcError(code, "connect ECONNREFUSED 10.1.2.3:50052 at Socket.x (net.js:1)"));
      expect({ status: api.statusCode, code: api.code }).toEqual({ status: http, code: reason });
      expect(api.message).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|net\.js/);
    }
  });

  it("keeps a reason a backend chose for its own unavailability", () => {
    const api = toApiError(grpcError(status.UNAVAILABLE, "the slot service did not answer", "SLOT_SERVICE_UNAVAILABLE"));
    expect({ status: api.statusCode, code: api.code }).toEqual({ status: 503, code: "SLOT_SERVICE_UNAVAILABLE" });
  });

  it("treats anything unexpected as a 500 without details", () => {
    const api = toApiError(new TypeError("cannot read properties of undefined"));
    expect({ status: api.statusCode, code: api.code, message: api.message, details: api.details }).toEqual({
      status: 500,
      code: "INTERNAL",
      message: "internal error",
      details: [],
    });
  });
});
