import { Metadata, status, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { databaseUnavailable, isDatabaseUnavailable } from "../db/database-errors";

/** One problem with one request field, e.g. `{ field: "capacity", message: "must be > 0" }`. */
export interface FieldViolation {
  field: string;
  message: string;
}

/**
 * What went wrong, in domain terms. Each kind maps to exactly one gRPC status (see
 * `toGrpcStatus`), and from there to exactly one HTTP status at the edge.
 */
export type ErrorKind =
  | "invalid_argument" // the request itself is malformed
  | "not_found"
  | "already_exists"
  | "conflict" // the resource's current state forbids it (full slot, booking no longer pending)
  | "unprocessable" // well-formed, but cannot be applied as stated (idempotency key reuse, past slot)
  | "rate_limited"
  | "permission_denied"
  | "unauthenticated"
  | "unavailable"; // a dependency is down; the caller may retry

const GRPC_STATUS_OF_KIND: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  conflict: status.ABORTED,
  unprocessable: status.FAILED_PRECONDITION,
  rate_limited: status.RESOURCE_EXHAUSTED,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  unavailable: status.UNAVAILABLE,
};

/**
 * An expected failure with a machine-readable `reason` (SCREAMING_SNAKE_CASE, stable across
 * releases, what clients switch on) and a human-readable message.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    /**
     * Facts a client acts on, by name (google.rpc.ErrorInfo's metadata), e.g. the deadline a
     * CANCELLATION_TOO_LATE refers to: machine-readable, unlike the message.
     */
    readonly info: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const invalidArgument = (violations: readonly FieldViolation[]): DomainError =>
  new DomainError(
    "invalid_argument",
    "VALIDATION_FAILED",
    violations.map((v) => `${v.field}: ${v.message}`).join("; "),
    violations,
  );

export const notFound = (entity: string, id: string): DomainError =>
  new DomainError("not_found", `${entity.toUpperCase()}_NOT_FOUND`, `${entity} ${id} not found`);

/** Metadata keys that carry the machine-readable part of an error across gRPC. */
export const ERROR_REASON_KEY = "clinic-error-reason";
export const ERROR_VIOLATIONS_KEY = "clinic-error-violations";
export const ERROR_INFO_KEY = "clinic-error-info";

/**
 * The one place a thrown value becomes a gRPC status. Domain errors keep their kind and reason;
 * anything else is an internal error whose details stay in the server log, never on the wire.
 */
export function toGrpcStatus(err: unknown): StatusObject & { internal: boolean } {
  const metadata = new Metadata();
  if (err instanceof DomainError) {
    metadata.set(ERROR_REASON_KEY, err.reason);
    if (err.violations.length > 0) {
      metadata.set(ERROR_VIOLATIONS_KEY, JSON.stringify(err.violations));
    }
    if (Object.keys(err.info).length > 0) metadata.set(ERROR_INFO_KEY, JSON.stringify(err.info));
    return { code: GRPC_STATUS_OF_KIND[err.kind], details: err.message, metadata, internal: false };
  }
  if (isDatabaseUnavailable(err)) return toGrpcStatus(databaseUnavailable(err));
  metadata.set(ERROR_REASON_KEY, "INTERNAL");
  return { code: status.INTERNAL, details: "internal error", metadata, internal: true };
}

/** An error received from a gRPC call, with the reason and field violations decoded. */
export interface RemoteError {
  code: status;
  reason: string;
  message: string;
  violations: FieldViolation[];
  info: Record<string, string>;
}

export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === "number" &&
    (err as Partial<ServiceError>).metadata instanceof Metadata
  );
}

export function fromServiceError(err: ServiceError): RemoteError {
  const reasonValue = err.metadata.get(ERROR_REASON_KEY)[0];
  const violationsValue = err.metadata.get(ERROR_VIOLATIONS_KEY)[0];
  let violations: FieldViolation[] = [];
  if (typeof violationsValue === "string") {
    try {
      const parsed: unknown = JSON.parse(violationsValue);
      if (Array.isArray(parsed)) violations = parsed as FieldViolation[];
    } catch {
      // A peer sent malformed violations; the status and message still stand on their own.
    }
  }
  return {
    code: err.code,
    reason: typeof reasonValue === "string" ? reasonValue : status[err.code] ?? "UNKNOWN",
    message: err.details || status[err.code] || "error",
    violations,
    info: parseInfo(err.metadata.get(ERROR_INFO_KEY)[0]),
  };
}

/** Only string values of a JSON object survive: a malformed value from a peer is dropped. */
function parseInfo(value: unknown): Record<string, string> {
  if (typeof value !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  } catch {
    return {};
  }
}

/**
 * A remote error re-raised as a domain error, so a service that calls another passes on its
 * meaning (a missing slot stays NOT_FOUND) instead of turning it into INTERNAL.
 */
export function domainErrorFromRemote(remote: RemoteError): DomainError | undefined {
  const entry = (Object.entries(GRPC_STATUS_OF_KIND) as [ErrorKind, status][]).find(
    ([, code]) => code === remote.code,
  );
  return entry ? new DomainError(entry[0], remote.reason, remote.message, remote.violations, remote.info) : undefined;
}
