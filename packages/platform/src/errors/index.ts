/** @clinic/platform/errors: Domain errors and their gRPC status mapping, both ways. */
export {
  DomainError,
  domainErrorFromRemote,
  ERROR_INFO_KEY,
  ERROR_REASON_KEY,
  ERROR_VIOLATIONS_KEY,
  type ErrorKind,
  type FieldViolation,
  fromServiceError,
  invalidArgument,
  isServiceError,
  notFound,
  type RemoteError,
  toGrpcStatus,
} from "./errors";
export { ERROR_CODES, type ErrorCode, isErrorCode } from "./error-codes";
