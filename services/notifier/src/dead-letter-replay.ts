import { DomainError } from "@clinic/platform/errors";
import type { Logger } from "@clinic/platform/logging";
import type { DeadLetterRow, NotificationRepository } from "./notification-repository";
import type { Channel } from "./notification-policy";
import type { NotifierMetrics } from "./notifier-metrics";
import { SendError, sendTraced, type Sender } from "./senders";

/**
 * ReplayDeadLetter: one more send of a parked notification, after someone fixed the cause (the
 * provider recovered, the address was corrected upstream). Each entry is replayed at most once,
 * claimed before sending, so two admins clicking at once cannot send it twice; the outcome is
 * recorded on the entry (and a delivered replay completes the notification).
 */
export class DeadLetterReplayer {
  constructor(
    private readonly deps: { repo: NotificationRepository; senders: Record<Channel, Sender>; metrics: NotifierMetrics; logger: Logger },
  ) {}

  async replay(id: string): Promise<DeadLetterRow> {
    const { repo, metrics } = this.deps;
    const letter = await repo.claimReplay(id);
    if (!letter) throw await this.whyNot(id);
    const message = letter.message!;
    const log = this.deps.logger.child({ dead_letter_id: id, event_id: letter.event_id, channel: message.channel });
    const stopTimer = metrics.sendSeconds.startTimer({ channel: message.channel });
    let outcome: { sent: true } | { sent: false; error: string };
    try {
      await sendTraced(this.deps.senders[message.channel], message, letter.notification_id ?? letter.id);
      outcome = { sent: true };
    } catch (err) {
      outcome = { sent: false, error: err instanceof SendError ? err.message : new SendError(String(err), false).message };
    } finally {
      stopTimer();
    }
    metrics.notifications.inc({ channel: message.channel, outcome: outcome.sent ? "sent" : "failed" });
    if (outcome.sent) log.info("dead letter replayed: sent");
    else log.warn({ error: outcome.error }, "dead letter replayed: failed again");
    return repo.finishReplay(letter, outcome);
  }

  private async whyNot(id: string): Promise<DomainError> {
    const existing = await this.deps.repo.getDeadLetter(id);
    if (!existing) return new DomainError("not_found", "DEAD_LETTER_NOT_FOUND", `dead letter ${id} not found`);
    if (!existing.message) {
      return new DomainError(
        "unprocessable",
        "DEAD_LETTER_NOT_REPLAYABLE",
        `dead letter ${id} holds a message that could not be decoded; there is nothing to send`,
      );
    }
    return new DomainError("conflict", "DEAD_LETTER_ALREADY_REPLAYED", `dead letter ${id} was already replayed`);
  }
}
