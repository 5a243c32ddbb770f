import type { ErrorBody } from "./types";

/** An API answer that was not a success, with the fields a person needs to act on it. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
    /** Seconds from `Retry-After`, when the answer had one (429). */
    readonly retryAfterSeconds?: number,
    /** The error's facts (`error.info`), e.g. `cancelDeadline`. */
    readonly info: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ApiFailure";
  }
}

/** Builds the failure from an answer in the API's one error shape (or anything else a proxy sent). */
export function failureFrom(response: Response, body: unknown): ApiFailure {
  const retryAfter = Number(response.headers.get("retry-after"));
  const error = (body as Partial<ErrorBody> | undefined)?.error;
  return new ApiFailure(
    response.status,
    error?.code ?? `HTTP_${response.status}`,
    error?.message ?? response.statusText,
    error?.details ?? [],
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    error?.info ?? {},
  );
}

const seconds = (n: number) => (n === 1 ? "1 second" : `${n} seconds`);

/** Every code the API answers (the enum of `error.code` in the edge's OpenAPI document). */
export type ErrorCode = ErrorBody["error"]["code"];

/** A sentence, or one composed from the failure's own facts (a deadline, a wait, the fields to fix). */
type Sentence = string | ((failure: ApiFailure) => string);

const TRY_AGAIN = "The clinic is temporarily unavailable. Try again in a moment.";
const SIGN_IN_AGAIN = "Your sign-in is not valid any more. Please sign in again.";
const OUR_FAULT = "Something went wrong on our side. Try again; if it persists, contact the clinic.";

/**
 * What to tell a person for each code the API answers: what happened and what to do next. The
 * API's own message is a developer's text; these are the user's. Keyed by every `ErrorCode`, so
 * a code the API adds and this table lacks breaks the build.
 */
const SENTENCES: Record<ErrorCode, Sentence> = {
  VALIDATION_FAILED: (f) =>
    f.details.length > 0 ? `Please check: ${f.details.map((d) => `${labelOf(d.field)} ${d.message}`).join("; ")}.` : "Please check the form.",
  MALFORMED_JSON: "The page sent something the clinic could not read. Reload the page and try again.",
  BAD_URL: "This address is not valid. Check the link, or go to the start page.",
  BAD_REQUEST: "The clinic could not understand this request. Reload the page and try again.",
  INVALID_CONTENT_LENGTH: "The request arrived incomplete. Try again.",
  METHOD_NOT_ALLOWED: "This action is not possible here. Reload the page and try again.",
  NOT_FOUND: "Not found.",
  PAYLOAD_TOO_LARGE: "That is too much text to send.",
  REQUEST_TIMEOUT: "The request took too long to arrive. Check your connection and try again.",
  UNSUPPORTED_MEDIA_TYPE: "The page sent something the clinic could not read. Reload the page and try again.",
  HEADERS_TOO_LARGE: "The request carried too much data. Sign out, sign in again and retry.",
  RATE_LIMITED: (f) => `Too many requests. Wait ${seconds(f.retryAfterSeconds ?? 1)} and try again.`,
  AUTHENTICATION_REQUIRED: "Please sign in first.",
  INVALID_TOKEN: SIGN_IN_AGAIN,
  TOKEN_EXPIRED: "Your sign-in has expired. Please sign in again.",
  TOKEN_REVOKED: "You were signed out. Please sign in again.",
  INVALID_CREDENTIALS: "The e-mail address or the password is wrong.",
  TOO_MANY_SIGN_IN_ATTEMPTS: (f) =>
    `Too many failed sign-ins for this e-mail address. Wait ${seconds(f.retryAfterSeconds ?? 60)} and try again.`,
  INVALID_REFRESH_TOKEN: SIGN_IN_AGAIN,
  REFRESH_TOKEN_REUSED: "Your sign-in was used elsewhere and has been ended for safety. Please sign in again.",
  REFRESH_TOKEN_REVOKED: "You were signed out. Please sign in again.",
  REFRESH_TOKEN_EXPIRED: "Your sign-in has expired. Please sign in again.",
  FORBIDDEN: "Your account may not do this.",
  EMAIL_TAKEN: "An account with this e-mail address exists already. Sign in instead.",
  ACCOUNT_NOT_FOUND: "Your account no longer exists. Contact the clinic, or register again.",
  DOCTOR_NOT_FOUND: "This doctor does not exist (any more).",
  DOCTOR_HAS_ACTIVE_BOOKINGS: "Patients are booked with this doctor; the doctor cannot be deleted while their bookings stand.",
  SLOT_NOT_FOUND: "This time is no longer offered.",
  SLOT_IN_PAST: "This time has already started; it can no longer be booked or changed.",
  SLOT_OVERLAP: "This overlaps a time the doctor already offers. Pick times that do not overlap.",
  SLOT_HAS_ACTIVE_BOOKINGS: "Patients are booked at this time; it cannot be deleted while their bookings stand.",
  CAPACITY_BELOW_HELD: "More seats are already taken than the new capacity; choose a capacity at least as large as the seats taken.",
  EMPTY_SCHEDULE: "This schedule makes no slots: check the dates, weekdays and hours.",
  TOO_MANY_SLOTS: "This schedule makes too many slots at once; publish a shorter range.",
  SLOT_FULL: "This time is full: every seat is taken. Pick another time.",
  ALREADY_BOOKED: "You already hold or have booked a seat at this time. See My bookings.",
  BOOKING_NOT_FOUND: "This booking does not exist (any more).",
  BOOKING_EXPIRED: "Your hold lapsed after two minutes and the seat was given back. Hold it again if it is still free.",
  BOOKING_CANCELLED: "This booking was cancelled.",
  BOOKING_ALREADY_CONFIRMED: "This booking is already confirmed.",
  BOOKING_ALREADY_CANCELLED: "This booking is already cancelled.",
  BOOKING_ARCHIVED: "This booking is in the archive: its time has passed, so it can no longer change.",
  BOOKING_STATE_CONFLICT: "This booking changed meanwhile. Reload to see where it stands.",
  CANCELLATION_TOO_LATE: (f) =>
    `It is too late to cancel or move this booking yourself: the doctor's rule allows it until ${f.info["cancelDeadline"] ? new Date(f.info["cancelDeadline"]).toLocaleString() : "shortly before the appointment"}. Contact the clinic.`,
  IDEMPOTENCY_KEY_REUSED: "This request was already sent with other details. Start again.",
  RESCHEDULE_IN_PROGRESS: "This booking is being moved right now. Look again in a moment.",
  RESCHEDULE_LIMIT_REACHED: "This booking has been moved as often as allowed. Cancel it and book again instead.",
  RESCHEDULE_SAME_SLOT: "The booking is already for this time.",
  SLOT_HAS_SEATS: "This time has a free seat: book it instead of waiting.",
  ALREADY_ON_WAITLIST: "You are on this time's waitlist already.",
  NOT_ON_WAITLIST: "You are not on this time's waitlist.",
  DEAD_LETTER_NOT_FOUND: "This dead letter does not exist.",
  DEAD_LETTER_ALREADY_REPLAYED: "This dead letter was already replayed.",
  DEAD_LETTER_NOT_REPLAYABLE: "This dead letter cannot be replayed (its message could not be read).",
  // 503s: nothing happened (or, for a commit, maybe it did); the person may simply try again.
  SERVICE_UNAVAILABLE: TRY_AGAIN,
  DOCTOR_SERVICE_UNAVAILABLE: TRY_AGAIN,
  SLOT_SERVICE_UNAVAILABLE: TRY_AGAIN,
  BOOKING_SERVICE_UNAVAILABLE: TRY_AGAIN,
  DATABASE_UNAVAILABLE: TRY_AGAIN,
  AUTH_KEYS_UNAVAILABLE: TRY_AGAIN,
  TOO_MANY_STREAMS: "Live seat updates are temporarily unavailable; the seats shown refresh every few seconds instead.",
  COMMIT_OUTCOME_UNKNOWN:
    "The clinic lost contact while saving this, so it may or may not have been saved. Check My bookings before trying again.",
  SHUTTING_DOWN: "The clinic is restarting. Try again in a moment.",
  DEADLINE_EXCEEDED: "The clinic took too long to answer. Try again in a moment.",
  NOT_IMPLEMENTED: "The clinic cannot do this yet. Contact the clinic.",
  INTERNAL: OUR_FAULT,
};

/** Said when the clinic cannot be reached at all (no answer, so no code from the API). */
const NETWORK = "The clinic cannot be reached. Check your connection and try again.";

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(SENTENCES, code);

/**
 * A field of a VALIDATION_FAILED answer as the form's label names it (`patientContact` is
 * "E-mail address or phone number" on the page), from the label of the input whose
 * `data-field` is the API's field name; the API's name when no such input is on the page.
 */
function labelOf(field: string): string {
  if (typeof document === "undefined") return field;
  const input = document.querySelector(`[data-field="${CSS.escape(field)}"]`);
  const label = input?.id ? document.querySelector(`label[for="${CSS.escape(input.id)}"]`)?.textContent?.trim() : undefined;
  return label ? `“${label}”` : field;
}

/** The sentence to show for any error thrown by an API call. */
export function describeError(err: unknown): string {
  if (err instanceof ApiFailure) {
    if (err.code === "NETWORK") return NETWORK;
    if (isErrorCode(err.code)) {
      const sentence = SENTENCES[err.code];
      return typeof sentence === "string" ? sentence : sentence(err);
    }
    if (err.status === 503) return TRY_AGAIN;
    if (err.status >= 500) return OUR_FAULT;
    return err.message || `The request failed (${err.status}).`;
  }
  return NETWORK;
}

/** The sentence for a code the page itself detected (a hold that ran out on the countdown). */
export const messageFor = (code: ErrorCode): string => describeError(new ApiFailure(0, code, ""));

/** The error code, for pages that react to particular ones (a full slot turns its button off). */
export const errorCode = (err: unknown): string | undefined => (err instanceof ApiFailure ? err.code : undefined);
