/**
 * Every `error.code` the public API answers, in one list. Clients switch on these (the web
 * client has a sentence for each, checked by its compiler through the edge's OpenAPI document,
 * where this list is the enum of `error.code`), so a new code is added here first;
 * error-codes.test.ts fails while a service, the platform or the edge throws one that is missing.
 */
export const ERROR_CODES = [
  // The request itself (the edge, before any backend is asked).
  "VALIDATION_FAILED",
  "MALFORMED_JSON",
  "BAD_URL",
  "BAD_REQUEST",
  "INVALID_CONTENT_LENGTH",
  "METHOD_NOT_ALLOWED",
  "NOT_FOUND",
  "PAYLOAD_TOO_LARGE",
  "REQUEST_TIMEOUT",
  "UNSUPPORTED_MEDIA_TYPE",
  "HEADERS_TOO_LARGE",
  "RATE_LIMITED",
  // Signing in and the caller's token.
  "AUTHENTICATION_REQUIRED",
  "INVALID_TOKEN",
  "TOKEN_EXPIRED",
  "TOKEN_REVOKED",
  "INVALID_CREDENTIALS",
  "TOO_MANY_SIGN_IN_ATTEMPTS",
  "INVALID_REFRESH_TOKEN",
  "REFRESH_TOKEN_REUSED",
  "REFRESH_TOKEN_REVOKED",
  "REFRESH_TOKEN_EXPIRED",
  "FORBIDDEN",
  "EMAIL_TAKEN",
  "ACCOUNT_NOT_FOUND",
  // Doctors and slots.
  "DOCTOR_NOT_FOUND",
  "DOCTOR_HAS_ACTIVE_BOOKINGS",
  "SLOT_NOT_FOUND",
  "SLOT_IN_PAST",
  "SLOT_OVERLAP",
  "SLOT_HAS_ACTIVE_BOOKINGS",
  "CAPACITY_BELOW_HELD",
  "EMPTY_SCHEDULE",
  "TOO_MANY_SLOTS",
  // Bookings and the waitlist.
  "SLOT_FULL",
  "ALREADY_BOOKED",
  "BOOKING_NOT_FOUND",
  "BOOKING_EXPIRED",
  "BOOKING_CANCELLED",
  "BOOKING_ALREADY_CONFIRMED",
  "BOOKING_ALREADY_CANCELLED",
  "BOOKING_ARCHIVED",
  "BOOKING_STATE_CONFLICT",
  "CANCELLATION_TOO_LATE",
  "IDEMPOTENCY_KEY_REUSED",
  "RESCHEDULE_IN_PROGRESS",
  "RESCHEDULE_LIMIT_REACHED",
  "RESCHEDULE_SAME_SLOT",
  "SLOT_HAS_SEATS",
  "ALREADY_ON_WAITLIST",
  "NOT_ON_WAITLIST",
  // Notifications.
  "DEAD_LETTER_NOT_FOUND",
  "DEAD_LETTER_ALREADY_REPLAYED",
  "DEAD_LETTER_NOT_REPLAYABLE",
  // Server side: the caller may retry (503/504) or the fault is ours (500, 501).
  "SERVICE_UNAVAILABLE",
  "DOCTOR_SERVICE_UNAVAILABLE",
  "SLOT_SERVICE_UNAVAILABLE",
  "BOOKING_SERVICE_UNAVAILABLE",
  "DATABASE_UNAVAILABLE",
  "COMMIT_OUTCOME_UNKNOWN",
  "AUTH_KEYS_UNAVAILABLE",
  "TOO_MANY_STREAMS",
  "SHUTTING_DOWN",
  "DEADLINE_EXCEEDED",
  "NOT_IMPLEMENTED",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN = new Set<string>(ERROR_CODES);

export const isErrorCode = (code: string): code is ErrorCode => KNOWN.has(code);
