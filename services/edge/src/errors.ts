import { status as grpcStatus } from "@grpc/grpc-js";
import {
  DomainError,
  type ErrorCode,
  fromServiceError,
  isErrorCode,
  isServiceError,
  toGrpcStatus,
  type FieldViolation,
  type RemoteError,
} from "@clinic/platform/errors";
import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from "fastify";
import { httpStatusFromGrpc } from "./http-status";
import type { ErrorBody } from "./schemas/common";

/** An error the edge itself decides on (an unknown route, a malformed body, ...). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: readonly FieldViolation[] = [],
    readonly info: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * Renames of gRPC request fields to the HTTP names a route uses, for the violations a backend
 * reports (`{ name_query: "q", id: "doctorId" }`). Fields not listed go from snake_case to
 * camelCase, which is how the HTTP API spells every proto field.
 */
export type FieldAliases = Readonly<Record<string, string>>;

const snakeToCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function renameField(field: string, aliases: FieldAliases): string {
  const [head = "", ...rest] = field.split(".");
  // Index suffixes such as `slot_ids[3]` keep their index.
  const match = /^([^[]*)(.*)$/.exec(head);
  const name = match?.[1] ?? head;
  const suffix = match?.[2] ?? "";
  const renamed = aliases[name] ?? snakeToCamel(name);
  return [renamed + suffix, ...rest.map(snakeToCamel)].join(".");
}

/**
 * What the client is told about a backend's server-side failure. gRPC's own messages for these
 * name internal addresses and library internals ("connect ECONNREFUSED 10.0.3.7:50052"); they go
 * to the log, never on the wire.
 */
const SERVER_SIDE_MESSAGES: Partial<Record<grpcStatus, { code: string; message: string }>> = {
  [grpcStatus.UNAVAILABLE]: { code: "SERVICE_UNAVAILABLE", message: "a backend service is unavailable; retry later" },
  [grpcStatus.DEADLINE_EXCEEDED]: { code: "DEADLINE_EXCEEDED", message: "a backend service did not answer in time" },
  [grpcStatus.UNIMPLEMENTED]: { code: "NOT_IMPLEMENTED", message: "not implemented" },
};

/** A backend's gRPC error in HTTP terms: status by `httpStatusFromGrpc`, reason from metadata. */
export function apiErrorFromRemote(remote: RemoteError, aliases: FieldAliases = {}): ApiError {
  const statusCode = httpStatusFromGrpc(remote.code);
  if (statusCode >= 500) {
    const known = SERVER_SIDE_MESSAGES[remote.code];
    // A reason the backend chose itself (e.g. a dependency it names) is meant for clients.
    const ownReason = remote.reason !== grpcStatus[remote.code] && remote.reason !== "INTERNAL";
    return new ApiError(
      statusCode,
      ownReason ? remote.reason : (known?.code ?? "INTERNAL"),
      known?.message ?? "internal error",
    );
  }
  const details = remote.violations.map((v) => ({ field: renameField(v.field, aliases), message: v.message }));
  // The backend's message names proto fields; rebuilt from the renamed details it names ours.
  const message = details.length > 0 ? details.map((d) => `${d.field}: ${d.message}`).join("; ") : remote.message;
  return new ApiError(statusCode, remote.reason, message, details, remote.info);
}

/** For route handlers: a failed gRPC call becomes an ApiError with the route's field names. */
export function translateGrpcError(err: unknown, aliases: FieldAliases = {}): unknown {
  return isServiceError(err) ? Object.assign(apiErrorFromRemote(fromServiceError(err), aliases), { cause: err }) : err;
}

const FORMAT_MESSAGES: Record<string, string> = {
  uuid: "must be a UUID",
  "date-time": "must be an RFC 3339 date-time with an offset, e.g. 2030-01-31T09:00:00Z",
  date: "must be a date, YYYY-MM-DD",
  email: "must be an e-mail address",
  contact: "must be an e-mail address or an E.164 phone number (+ and 7 to 15 digits)",
  e164: "must be an E.164 phone number (+ and 7 to 15 digits)",
};

/** Ajv's `/weekdays/2` as `weekdays[2]`, the way clients write paths into JSON. */
function jsonPointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

function violationOf(error: FastifySchemaValidationError, context: string | undefined): FieldViolation {
  const params = error.params;
  let field = jsonPointerToPath(error.instancePath);
  let message = error.message ?? "is invalid";
  const child = (name: unknown): string => (field ? `${field}.${String(name)}` : String(name));
  switch (error.keyword) {
    case "required":
      field = child(params["missingProperty"]);
      message = "is required";
      break;
    case "additionalProperties":
      field = child(params["additionalProperty"]);
      message = "is not a known field";
      break;
    case "format":
      message = FORMAT_MESSAGES[String(params["format"])] ?? message;
      break;
    case "enum":
      message = `must be one of: ${(params["allowedValues"] as unknown[]).map(String).join(", ")}`;
      break;
    case "pattern":
      message = "has an invalid format";
      break;
    case "minProperties":
      message = "must set at least one field";
      break;
  }
  return { field: field || (context ?? "body"), message };
}

/** Fastify's schema errors as one VALIDATION_FAILED answer listing every offending field. */
function validationError(validation: FastifySchemaValidationError[], context: string | undefined): ApiError {
  const seen = new Set<string>();
  const details = validation
    .map((e) => violationOf(e, context))
    .filter((v) => {
      const key = `${v.field}\u0000${v.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
  const where = { querystring: "query string", params: "path", headers: "headers", body: "body" }[context ?? ""] ?? "request";
  return new ApiError(400, "VALIDATION_FAILED", `invalid ${where}: ${details.map((d) => `${d.field} ${d.message}`).join("; ")}`, details);
}

/** Fastify's own request errors (parsing, content type, size) by their error code. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "MALFORMED_JSON", message: "the body is not valid JSON" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "MALFORMED_JSON", message: "the body is empty" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
    message: "the body must be application/json",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: "INVALID_CONTENT_LENGTH",
    message: "Content-Length does not match the body",
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "PAYLOAD_TOO_LARGE", message: "the body is too large" },
  FST_ERR_BAD_URL: { status: 400, code: "BAD_URL", message: "the URL is not valid" },
};

const GENERIC_CLIENT_ERRORS: Record<number, string> = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  408: "REQUEST_TIMEOUT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  431: "HEADERS_TOO_LARGE",
};

interface MaybeFastifyError {
  code?: unknown;
  statusCode?: unknown;
  validation?: FastifySchemaValidationError[];
  validationContext?: string;
}

/** Anything thrown while serving a request, as the status and body the client gets. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isServiceError(err)) return apiErrorFromRemote(fromServiceError(err));
  // Shared helpers (page tokens, caller checks) speak in domain errors, as the services do.
  if (err instanceof DomainError) {
    return new ApiError(httpStatusFromGrpc(toGrpcStatus(err).code), err.reason, err.message, err.violations, err.info);
  }
  const e = (typeof err === "object" && err !== null ? err : {}) as MaybeFastifyError;
  if (Array.isArray(e.validation)) return validationError(e.validation, e.validationContext);
  const known = typeof e.code === "string" ? FRAMEWORK_ERRORS[e.code] : undefined;
  if (known) return new ApiError(known.status, known.code, known.message);
  // Any other 4xx Fastify raises is about the request; the framework's wording is not a contract.
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, GENERIC_CLIENT_ERRORS[e.statusCode] ?? "BAD_REQUEST", "the request cannot be served");
  }
  return new ApiError(500, "INTERNAL", "internal error");
}

/**
 * The one function that answers an error. Every error body has the same shape; only server-side
 * failures are logged (4xx are the client's business and would drown real problems), with the
 * original error, never the request body.
 */
export function replyError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const api = toApiError(err);
  if (api.statusCode >= 500) {
    const cause = err instanceof ApiError && err.cause !== undefined ? err.cause : err;
    // A gRPC error carries its call's metadata and internals; its status and text say enough.
    const detail = isServiceError(cause)
      ? { grpc: { code: grpcStatus[cause.code] ?? cause.code, details: cause.details } }
      : { err: cause };
    request.log.error(
      { ...detail, method: request.method, route: request.routeOptions.url, statusCode: api.statusCode, code: api.code },
      "request failed",
    );
  }
  // error-codes.test.ts keeps every thrown code in ERROR_CODES; one that slipped past it still
  // goes out as it is (it says more than INTERNAL would), and is logged to be added.
  if (!isErrorCode(api.code)) request.log.error({ code: api.code, statusCode: api.statusCode }, "error code missing from ERROR_CODES");
  const body: ErrorBody = {
    error: { code: api.code as ErrorCode, message: api.message, details: [...api.details], ...(Object.keys(api.info).length > 0 ? { info: { ...api.info } } : {}) },
  };
  return reply.code(api.statusCode).type("application/json; charset=utf-8").send(body);
}
