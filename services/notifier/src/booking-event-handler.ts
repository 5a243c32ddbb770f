import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@clinic/platform/logging";
import { eventsV1 } from "@clinic/proto";
import { backoffDelayMs, type RetrySettings } from "./backoff";
import type { DeadLetterPublisher, IncomingMessage } from "./dead-letter-publisher";
import type { NotificationRepository, NotificationRow, NewDeadLetter, DeadLetterRow } from "./notification-repository";
import type { NotifierMetrics } from "./notifier-metrics";
import { contactOf, eventTypeOf, notifiable, renderMessages, type Channel, type OutgoingMessage } from "./notification-policy";
import { scrubContactDetails } from "./scrub";
import { SendError, sendTraced, type Sender } from "./senders";

/** Reasons on dead letters (and in `dlq_messages_total{reason}`). */
export const DeadLetterReason = {
  /** Not a decodable BookingEvent, or one without its ids. */
  MALFORMED: "MALFORMED",
  /** Every attempt failed with a transient error. */
  RETRIES_EXHAUSTED: "RETRIES_EXHAUSTED",
  /** The provider refused the message for good (SMTP 5xx, SMS 4xx). */
  PERMANENT_FAILURE: "PERMANENT_FAILURE",
  /** A sender died mid-send: the patient may or may not have the message. */
  DELIVERY_UNKNOWN: "DELIVERY_UNKNOWN",
} as const;

/** Thrown out of a message's handling when the service shuts down between attempts. */
export class ShutdownInterrupt extends Error {
  constructor() {
    super("shutting down: handling interrupted, the message will be redelivered");
    this.name = "ShutdownInterrupt";
  }
}

export interface HandlerDeps {
  repo: NotificationRepository;
  senders: Record<Channel, Sender>;
  dlq: DeadLetterPublisher;
  metrics: NotifierMetrics;
  logger: Logger;
  retry: RetrySettings;
  /** How long a claim is good for while an attempt is in flight. */
  leaseMs: number;
  /** Source of randomness for backoff jitter (tests pin it). */
  random?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Decoded = { event: eventsV1.BookingEvent } | { problem: string };

function decode(value: Buffer | null): Decoded {
  if (!value || value.length === 0) return { problem: "empty message value" };
  let event: eventsV1.BookingEvent;
  try {
    event = eventsV1.BookingEvent.decode(value);
  } catch (err) {
    return { problem: `not a BookingEvent protobuf: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!UUID.test(event.eventId)) return { problem: "event_id is missing or not a UUID" };
  if (!UUID.test(event.bookingId)) return { problem: "booking_id is missing or not a UUID" };
  return { event };
}

function headerText(headers: IncomingMessage["headers"], name: string): string | null {
  const value = headers[name];
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? null : one.toString();
}

/** Waits, unless the service is shutting down. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new ShutdownInterrupt();
  }
}

/** A write that records a send that already happened: worth a few retries before giving up. */
async function persistently<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(100 * 2 ** attempt);
    }
  }
}

/**
 * Turns one booking event into its notifications, each sent effectively once:
 *
 * - a row per (event id, channel) is claimed before the first attempt (unique constraint);
 * - a redelivered event finds its rows: sent or dead-lettered ones are skipped, a pending one
 *   whose claimant let go is resumed, and one left `sending` by a claimant whose lease ran out
 *   (it died mid-send) is dead-lettered as DELIVERY_UNKNOWN rather than sent a second time;
 * - failed sends retry with exponential backoff and full jitter, RETRY_MAX_ATTEMPTS in total,
 *   then go to the dead-letter topic; permanent refusals go there at once.
 *
 * `handle` resolves only when every notification of the message is sent, skipped or
 * dead-lettered; the consumer commits the offset after that, so a crash redelivers the message.
 */
export class BookingEventHandler {
  private readonly random: () => number;

  constructor(private readonly deps: HandlerDeps) {
    this.random = deps.random ?? Math.random;
  }

  async handle(msg: IncomingMessage, signal: AbortSignal): Promise<void> {
    const decoded = decode(msg.value);
    if ("problem" in decoded) {
      await this.parkMalformed(msg, decoded.problem);
      return;
    }
    const { event } = decoded;
    const eventType = eventTypeOf(event);
    const log = this.deps.logger.child({ event_id: event.eventId, booking_id: event.bookingId, event_type: eventType ?? "unknown" });
    if (!eventType) {
      // A payload this version does not know (a newer producer): nothing to tell the patient.
      log.info("booking event without a known payload; ignored");
      return;
    }
    // Nothing to tell about a hold (booking.created): booking.expired brings its own contact.
    if (!notifiable(event)) return;

    const carried = contactOf(event);
    // An event of an older producer (booking.expired without contact): the contact an older
    // notifier kept from booking.created, if any.
    const kept = carried ? undefined : await this.deps.repo.findContact(event.bookingId);
    const contact = carried ?? kept;
    if (!contact) {
      log.info("no contact known for this booking; nothing to send");
      return;
    }
    const messages = renderMessages(event, contact);
    if (messages.length === 0) log.warn("the booking's contact is neither an e-mail address nor an E.164 phone number; nothing to send");

    const results = await Promise.allSettled(messages.map((m) => this.deliver(event, eventType, m, msg, signal)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure) throw failure.reason;
    // The hold is over: a contact kept from booking.created is no longer needed.
    if (kept) await this.deps.repo.deleteContact(event.bookingId);
  }

  private async deliver(event: eventsV1.BookingEvent, eventType: string, message: OutgoingMessage, msg: IncomingMessage, signal: AbortSignal): Promise<void> {
    const { repo, metrics, leaseMs } = this.deps;
    const channel = message.channel;
    const log = this.deps.logger.child({ event_id: event.eventId, booking_id: event.bookingId, event_type: eventType, channel });
    const token = randomUUID();
    const claim = await repo.claim({ eventId: event.eventId, bookingId: event.bookingId, eventType, channel, token, leaseMs });
    let row: NotificationRow | undefined = claim.claimed ? claim.row : undefined;
    let view = claim.row;
    // Someone handled (or is handling) this notification before: decide from the row's state.
    // Waiting is bounded: a live claimant renews its lease only while it still has attempts.
    const waitUntil = Date.now() + leaseMs * (this.deps.retry.maxAttempts + 1) + this.deps.retry.maxDelayMs * this.deps.retry.maxAttempts;
    while (!row) {
      if (view.status === "sent" || view.status === "dead_lettered") {
        await repo.recordDuplicate(view.id);
        metrics.notifications.inc({ channel, outcome: "skipped_duplicate" });
        log.info({ status: view.status }, "duplicate delivery of a handled notification; skipped");
        if (view.status === "dead_lettered") await this.ensurePublished(view.id, msg);
        return;
      }
      if (view.lease_expired) {
        if (view.status === "sending") {
          // The claimant died with an attempt in flight: the patient may have the message.
          await this.parkUnknown(view, message, msg, log);
          return;
        }
        // Pending and let go (shutdown or crash between attempts): nothing is in flight, resume.
        row = await repo.takeOver(view.id, token, leaseMs);
        if (row) {
          log.info({ attempts: row.attempts }, "resuming a notification another consumer let go");
          break;
        }
      }
      if (Date.now() > waitUntil) throw new Error(`notification ${view.id} stayed claimed by another consumer; will retry`);
      await pause(Math.min(Math.max(view.lease_remaining_ms, 50), 500), signal);
      const next = await repo.view({ id: view.id });
      if (!next) throw new Error(`notification ${view.id} disappeared`);
      view = next;
    }
    await this.attempt(row, token, message, msg, signal, log);
  }

  private async attempt(row: NotificationRow, token: string, message: OutgoingMessage, msg: IncomingMessage, signal: AbortSignal, log: Logger): Promise<void> {
    const { repo, metrics, retry, leaseMs } = this.deps;
    const channel = message.channel;
    const sender = this.deps.senders[channel];
    let attempts = row.attempts;
    let lastError = row.last_error;
    for (;;) {
      if (attempts >= retry.maxAttempts) {
        // Resumed after a crash with no attempts left.
        await this.parkClaimed(row, token, message, msg, DeadLetterReason.RETRIES_EXHAUSTED, lastError, attempts, log);
        return;
      }
      const attempt = await repo.beginAttempt(row.id, token, leaseMs);
      if (attempt === undefined) {
        log.warn("lost the claim on a notification before sending; leaving it to its new owner");
        return;
      }
      attempts = attempt;
      const stopTimer = metrics.sendSeconds.startTimer({ channel });
      let failure: SendError | undefined;
      try {
        await sendTraced(sender, message, row.id);
      } catch (err) {
        failure = err instanceof SendError ? err : new SendError(err instanceof Error ? err.message : String(err), false);
      } finally {
        stopTimer();
      }

      if (!failure) {
        const recorded = await persistently(() => repo.markSent(row.id, token));
        metrics.notifications.inc({ channel, outcome: "sent" });
        if (recorded) log.info({ attempt }, "notification sent");
        else log.error({ attempt }, "notification sent after its claim lapsed; it may also be dead-lettered as DELIVERY_UNKNOWN");
        return;
      }

      metrics.notifications.inc({ channel, outcome: "failed" });
      lastError = failure.message;
      log.warn({ attempt, max_attempts: retry.maxAttempts, permanent: failure.permanent, error: lastError }, "notification attempt failed");
      if (failure.permanent) {
        await this.parkClaimed(row, token, message, msg, DeadLetterReason.PERMANENT_FAILURE, lastError, attempt, log);
        return;
      }
      if (attempt >= retry.maxAttempts) {
        await this.parkClaimed(row, token, message, msg, DeadLetterReason.RETRIES_EXHAUSTED, lastError, attempt, log);
        return;
      }
      const delay = backoffDelayMs(retry, attempt, this.random);
      // Still ours through the wait (and the next attempt's start), but known not to be in flight.
      if (!(await repo.attemptFailed(row.id, token, lastError, delay + leaseMs))) {
        log.warn("lost the claim on a notification after a failed attempt; leaving it to its new owner");
        return;
      }
      try {
        await pause(delay, signal);
      } catch (interrupt) {
        // Let the next consumer resume at once instead of waiting for our lease to run out.
        await repo.release(row.id, token);
        throw interrupt;
      }
    }
  }

  private async parkClaimed(
    row: NotificationRow,
    token: string,
    message: OutgoingMessage,
    msg: IncomingMessage,
    reason: string,
    error: string | null,
    attempts: number,
    log: Logger,
  ): Promise<void> {
    const letter = await this.deps.repo.deadLetterClaimed(row, token, message, this.newLetter(msg, reason, error, attempts));
    if (!letter) {
      log.warn("lost the claim on a notification before dead-lettering it; leaving it to its new owner");
      return;
    }
    await this.publish(letter, msg, log);
  }

  private async parkUnknown(row: NotificationRow, message: OutgoingMessage, msg: IncomingMessage, log: Logger): Promise<void> {
    const error = "the sender stopped while an attempt was in flight; the patient may or may not have received it";
    const letter = await this.deps.repo.deadLetterUnknown(row, message, this.newLetter(msg, DeadLetterReason.DELIVERY_UNKNOWN, error, row.attempts));
    if (!letter) {
      // Someone else resolved it in the meantime (another consumer, or the claimant after all).
      log.info("notification with an expired claim was resolved concurrently");
      return;
    }
    await this.publish(letter, msg, log);
  }

  private async parkMalformed(msg: IncomingMessage, problem: string): Promise<void> {
    const letter = await this.deps.repo.deadLetterMalformed({
      ...this.newLetter(msg, DeadLetterReason.MALFORMED, problem, 0),
      eventType: headerText(msg.headers, "event-type"),
    });
    const log = this.deps.logger.child({ topic: msg.topic, partition: msg.partition, offset: msg.offset });
    if (letter.published_at) {
      log.info("malformed message already dead-lettered; skipped");
      return;
    }
    await this.publish(letter, msg, log);
  }

  private newLetter(msg: IncomingMessage, reason: string, error: string | null, attempts: number): NewDeadLetter {
    return {
      reason,
      error: error === null ? null : scrubContactDetails(error),
      attempts,
      payload: msg.value,
      source: { topic: msg.topic, partition: msg.partition, offset: msg.offset },
    };
  }

  /** A dead letter whose topic message never went out (the process died in between). */
  private async ensurePublished(notificationId: string, msg: IncomingMessage): Promise<void> {
    const letter = await this.deps.repo.deadLetterOf(notificationId);
    if (letter && !letter.published_at) await this.publish(letter, msg, this.deps.logger.child({ dead_letter_id: letter.id }));
  }

  private async publish(letter: DeadLetterRow, msg: IncomingMessage, log: Logger): Promise<void> {
    await this.deps.dlq.publish(letter, msg);
    await this.deps.repo.markPublished(letter.id);
    this.deps.metrics.deadLetters.inc({ reason: letter.reason });
    if (letter.channel) this.deps.metrics.notifications.inc({ channel: letter.channel, outcome: "dead_lettered" });
    log.warn({ dead_letter_id: letter.id, reason: letter.reason, attempts: letter.attempts, error: letter.error }, "dead-lettered");
  }
}
