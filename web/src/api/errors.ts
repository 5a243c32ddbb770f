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

/**
 * What to tell a person for each code the API answers: what happened and what to do next. The
 * API's own message is a developer's text; these are the user's.
 */
const SENTENCES: Record<string, string> = {
  SLOT_FULL: "This time is full: every seat is taken. Pick another time.",
  BOOKING_EXPIRED: "Your hold lapsed after two minutes and the seat was given back. Hold it again if it is still free.",
  ALREADY_BOOKED: "You already hold or have booked a seat at this time. See My bookings.",
  BOOKING_ALREADY_CONFIRMED: "This booking is already confirmed.",
  BOOKING_ALREADY_CANCELLED: "This booking is already cancelled.",
  BOOKING_CANCELLED: "This booking was cancelled.",
  BOOKING_ARCHIVED: "This booking is in the archive: its time has passed, so it can no longer change.",
  RESCHEDULE_IN_PROGRESS: "This booking is being moved right now. Look again in a moment.",
  RESCHEDULE_LIMIT_REACHED: "This booking has been moved as often as allowed. Cancel it and book again instead.",
  RESCHEDULE_SAME_SLOT: "The booking is already for this time.",
  SLOT_HAS_SEATS: "This time has a free seat: book it instead of waiting.",
  ALREADY_ON_WAITLIST: "You are on this time's waitlist already.",
  NOT_ON_WAITLIST: "You are not on this time's waitlist.",
  BOOKING_STATE_CONFLICT: "This booking changed meanwhile. Reload to see where it stands.",
  BOOKING_NOT_FOUND: "This booking does not exist (any more).",
  SLOT_NOT_FOUND: "This time is no longer offered.",
  DOCTOR_NOT_FOUND: "This doctor does not exist (any more).",
  SLOT_IN_PAST: "This time has already started; it can no longer be booked or changed.",
  CAPACITY_BELOW_HELD: "More seats are already taken than the new capacity; choose a capacity at least as large as the seats taken.",
  SLOT_OVERLAP: "This overlaps a time the doctor already offers. Pick times that do not overlap.",
  SLOT_HAS_ACTIVE_BOOKINGS: "Patients are booked at this time; it cannot be deleted while their bookings stand.",
  DOCTOR_HAS_ACTIVE_BOOKINGS: "Patients are booked with this doctor; the doctor cannot be deleted while their bookings stand.",
  EMPTY_SCHEDULE: "This schedule makes no slots: check the dates, weekdays and hours.",
  TOO_MANY_SLOTS: "This schedule makes too many slots at once; publish a shorter range.",
  IDEMPOTENCY_KEY_REUSED: "This request was already sent with other details. Start again.",
  INVALID_CREDENTIALS: "The e-mail address or the password is wrong.",
  EMAIL_TAKEN: "An account with this e-mail address exists already. Sign in instead.",
  DOCTOR_TAKEN: "This doctor has an account already.",
  AUTHENTICATION_REQUIRED: "Please sign in first.",
  TOKEN_EXPIRED: "Your sign-in has expired. Please sign in again.",
  TOKEN_REVOKED: "You were signed out. Please sign in again.",
  INVALID_TOKEN: "Your sign-in is not valid any more. Please sign in again.",
  INVALID_REFRESH_TOKEN: "Your sign-in is not valid any more. Please sign in again.",
  REFRESH_TOKEN_REUSED: "Your sign-in was used elsewhere and has been ended for safety. Please sign in again.",
  REFRESH_TOKEN_REVOKED: "You were signed out. Please sign in again.",
  REFRESH_TOKEN_EXPIRED: "Your sign-in has expired. Please sign in again.",
  FORBIDDEN: "Your account may not do this.",
  NOT_FOUND: "Not found.",
  DEAD_LETTER_ALREADY_REPLAYED: "This dead letter was already replayed.",
  DEAD_LETTER_NOT_REPLAYABLE: "This dead letter cannot be replayed (its message could not be read).",
  DEAD_LETTER_NOT_FOUND: "This dead letter does not exist.",
  PAYLOAD_TOO_LARGE: "That is too much text to send.",
  SERVICE_UNAVAILABLE: "The service is briefly unavailable. Try again in a moment.",
  SLOT_SERVICE_UNAVAILABLE: "The service is briefly unavailable. Try again in a moment.",
  SHUTTING_DOWN: "The service is restarting. Try again in a moment.",
  DEADLINE_EXCEEDED: "The service took too long to answer. Try again in a moment.",
  INTERNAL: "Something went wrong on our side. Try again; if it persists, contact the clinic.",
  NETWORK: "The clinic cannot be reached. Check your connection and try again.",
};

/** The codes whose sentence tells the failure's own facts (a deadline, a wait, the fields to fix). */
const COMPOSED: Record<string, (failure: ApiFailure) => string> = {
  CANCELLATION_TOO_LATE: (f) =>
    `It is too late to cancel or move this booking yourself: the doctor's rule allows it until ${f.info["cancelDeadline"] ? new Date(f.info["cancelDeadline"]).toLocaleString() : "shortly before the appointment"}. Contact the clinic.`,
  RATE_LIMITED: (f) => `Too many requests. Wait ${seconds(f.retryAfterSeconds ?? 1)} and try again.`,
  TOO_MANY_SIGN_IN_ATTEMPTS: (f) =>
    `Too many failed sign-ins for this e-mail address. Wait ${seconds(f.retryAfterSeconds ?? 60)} and try again.`,
  VALIDATION_FAILED: (f) =>
    f.details.length > 0 ? `Please check: ${f.details.map((d) => `${d.field} ${d.message}`).join("; ")}.` : "Please check the form.",
};

/** The sentence to show for any error thrown by an API call. */
export function describeError(err: unknown): string {
  if (err instanceof ApiFailure) {
    const composed = COMPOSED[err.code];
    if (composed) return composed(err);
    const sentence = SENTENCES[err.code];
    if (sentence) return sentence;
    if (err.status >= 500) return SENTENCES["INTERNAL"]!;
    return err.message || `The request failed (${err.status}).`;
  }
  return SENTENCES["NETWORK"]!;
}

/** The sentence for a code the page itself detected (a hold that ran out on the countdown). */
export const messageFor = (code: string): string => describeError(new ApiFailure(0, code, ""));

/** The error code, for pages that react to particular ones (a full slot turns its button off). */
export const errorCode = (err: unknown): string | undefined => (err instanceof ApiFailure ? err.code : undefined);
