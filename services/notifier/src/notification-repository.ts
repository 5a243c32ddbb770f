import type { Knex } from "@clinic/platform/db";
import type { Channel, OutgoingMessage, PatientContact } from "./notification-policy";

export type NotificationState = "pending" | "sending" | "sent" | "dead_lettered";

export interface NotificationRow {
  id: string;
  event_id: string;
  booking_id: string;
  event_type: string;
  channel: Channel;
  status: NotificationState;
  attempts: number;
  last_error: string | null;
  duplicate_deliveries: number;
  claim_token: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
}

/** A row with its lease judged by the database's clock, the one every consumer shares. */
export interface ClaimView extends NotificationRow {
  lease_expired: boolean;
  lease_remaining_ms: number;
}

export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface DeadLetterRow {
  id: string;
  seq: number;
  notification_id: string | null;
  event_id: string | null;
  booking_id: string | null;
  event_type: string | null;
  channel: Channel | null;
  reason: string;
  error: string | null;
  attempts: number;
  payload: Buffer | null;
  message: OutgoingMessage | null;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  created_at: Date;
  published_at: Date | null;
  replay_time: Date | null;
  replay_status: "sent" | "failed" | null;
  replay_error: string | null;
}

/** Where a page of dead letters ends. */
export interface DeadLetterCursor {
  created_us: number;
  seq: number;
}

export interface NewDeadLetter {
  reason: string;
  error: string | null;
  attempts: number;
  payload: Buffer | null;
  source: SourcePosition;
}

interface ClaimRequest {
  eventId: string;
  bookingId: string;
  eventType: string;
  channel: Channel;
  token: string;
  leaseMs: number;
}

const CLAIM_VIEW = `*, coalesce(lease_expires_at <= now(), true) AS lease_expired,
  greatest(0, coalesce(ceil(extract(epoch FROM lease_expires_at - now()) * 1000), 0))::integer AS lease_remaining_ms`;

const first = <T>(rows: T[]): T | undefined => rows[0];

/**
 * The notifier's own database: the per-(event, channel) deduplication record with its claim
 * lease, the dead letters, and contacts kept between booking.created and the end of a hold.
 * Every transition of a claimed row is conditional on the claimant's token, so a claimant that
 * lost its claim (lease expired, row taken over) cannot overwrite what someone else decided.
 */
export class NotificationRepository {
  constructor(readonly db: Knex) {}

  /** Inserts the row as pending with our claim, or returns the row someone created before. */
  async claim(req: ClaimRequest): Promise<{ claimed: boolean; row: ClaimView }> {
    const { rows } = await this.db.raw<{ rows: ClaimView[] }>(
      `INSERT INTO notifications (event_id, booking_id, event_type, channel, status, claim_token, lease_expires_at)
       VALUES (?, ?, ?, ?, 'pending', ?, now() + ?::integer * interval '1 millisecond')
       ON CONFLICT (event_id, channel) DO NOTHING
       RETURNING ${CLAIM_VIEW}`,
      [req.eventId, req.bookingId, req.eventType, req.channel, req.token, req.leaseMs],
    );
    const inserted = first(rows);
    if (inserted) return { claimed: true, row: inserted };
    const existing = await this.view({ eventId: req.eventId, channel: req.channel });
    if (!existing) throw new Error(`notification ${req.eventId}/${req.channel} vanished during its claim`);
    return { claimed: false, row: existing };
  }

  async view(key: { id: string } | { eventId: string; channel: Channel }): Promise<ClaimView | undefined> {
    const [where, bindings] = "id" in key ? ["id = ?", [key.id]] : ["event_id = ? AND channel = ?", [key.eventId, key.channel]];
    const { rows } = await this.db.raw<{ rows: ClaimView[] }>(`SELECT ${CLAIM_VIEW} FROM notifications WHERE ${where}`, bindings);
    return first(rows);
  }

  /** Takes over a pending row whose claimant let go (shut down, or died between attempts). */
  async takeOver(id: string, token: string, leaseMs: number): Promise<NotificationRow | undefined> {
    const { rows } = await this.db.raw<{ rows: NotificationRow[] }>(
      `UPDATE notifications SET claim_token = ?, lease_expires_at = now() + ?::integer * interval '1 millisecond', updated_at = now()
       WHERE id = ? AND status = 'pending' AND lease_expires_at <= now()
       RETURNING *`,
      [token, leaseMs, id],
    );
    return first(rows);
  }

  /** Marks an attempt as in flight; returns its number, or undefined when the claim was lost. */
  async beginAttempt(id: string, token: string, leaseMs: number): Promise<number | undefined> {
    const { rows } = await this.db.raw<{ rows: { attempts: number }[] }>(
      `UPDATE notifications
       SET status = 'sending', attempts = attempts + 1, lease_expires_at = now() + ?::integer * interval '1 millisecond', updated_at = now()
       WHERE id = ? AND claim_token = ? AND status = 'pending'
       RETURNING attempts`,
      [leaseMs, id, token],
    );
    return first(rows)?.attempts;
  }

  /** The attempt failed for sure: back to pending, still ours while we wait for the next one. */
  async attemptFailed(id: string, token: string, error: string, holdMs: number): Promise<boolean> {
    const count = await this.db("notifications")
      .where({ id, claim_token: token, status: "sending" })
      .update({
        status: "pending",
        last_error: error,
        lease_expires_at: this.db.raw("now() + ?::integer * interval '1 millisecond'", [holdMs]),
        updated_at: this.db.fn.now(),
      });
    return count > 0;
  }

  async markSent(id: string, token: string): Promise<boolean> {
    const count = await this.db("notifications")
      .where({ id, claim_token: token, status: "sending" })
      .update({ status: "sent", sent_at: this.db.fn.now(), last_error: null, claim_token: null, lease_expires_at: null, updated_at: this.db.fn.now() });
    return count > 0;
  }

  /** Gives a pending row back at once (shutdown between attempts): the next claimant resumes it. */
  async release(id: string, token: string): Promise<void> {
    await this.db("notifications")
      .where({ id, claim_token: token, status: "pending" })
      .update({ lease_expires_at: this.db.fn.now(), updated_at: this.db.fn.now() });
  }

  async recordDuplicate(id: string): Promise<void> {
    await this.db("notifications").where({ id }).increment("duplicate_deliveries", 1);
  }

  /** Gives up on a row we hold (retries exhausted, permanent failure), atomically with its dead letter. */
  async deadLetterClaimed(
    row: NotificationRow,
    token: string,
    message: OutgoingMessage,
    letter: NewDeadLetter,
  ): Promise<DeadLetterRow | undefined> {
    return this.db.transaction(async (trx) => {
      const count = await trx("notifications")
        .where({ id: row.id, claim_token: token })
        .whereIn("status", ["pending", "sending"])
        .update({ status: "dead_lettered", last_error: letter.error, claim_token: null, lease_expires_at: null, updated_at: trx.fn.now() });
      if (count === 0) return undefined;
      return insertDeadLetter(trx, row, message, letter);
    });
  }

  /**
   * A row left `sending` by a claimant whose lease ran out: it died mid-send, so whether the
   * patient got the message is unknown. It is parked for a human instead of being sent again.
   */
  async deadLetterUnknown(row: NotificationRow, message: OutgoingMessage, letter: NewDeadLetter): Promise<DeadLetterRow | undefined> {
    return this.db.transaction(async (trx) => {
      const count = await trx("notifications")
        .where({ id: row.id, status: "sending" })
        .where("lease_expires_at", "<=", trx.fn.now())
        .update({ status: "dead_lettered", last_error: letter.error, claim_token: null, lease_expires_at: null, updated_at: trx.fn.now() });
      if (count === 0) return undefined;
      return insertDeadLetter(trx, row, message, letter);
    });
  }

  /** A message that is not a usable booking event; recorded once per topic position. */
  async deadLetterMalformed(letter: NewDeadLetter & { eventType: string | null }): Promise<DeadLetterRow> {
    await this.db.raw(
      `INSERT INTO dead_letters (event_type, reason, error, attempts, payload, source_topic, source_partition, source_offset)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_topic, source_partition, source_offset) WHERE notification_id IS NULL DO NOTHING`,
      [letter.eventType, letter.reason, letter.error, letter.attempts, letter.payload, letter.source.topic, letter.source.partition, letter.source.offset],
    );
    const row = await this.db<DeadLetterRow>("dead_letters")
      .whereNull("notification_id")
      .where({ source_topic: letter.source.topic, source_partition: letter.source.partition, source_offset: Number(letter.source.offset) })
      .first();
    if (!row) throw new Error("dead letter vanished after insert");
    return row;
  }

  async deadLetterOf(notificationId: string): Promise<DeadLetterRow | undefined> {
    return this.db<DeadLetterRow>("dead_letters").where({ notification_id: notificationId }).first();
  }

  async markPublished(deadLetterId: string): Promise<void> {
    await this.db("dead_letters").where({ id: deadLetterId }).whereNull("published_at").update({ published_at: this.db.fn.now() });
  }

  async listByBooking(bookingId: string): Promise<NotificationRow[]> {
    return this.db<NotificationRow>("notifications").where({ booking_id: bookingId }).orderBy([{ column: "created_at" }, { column: "channel" }]);
  }

  /**
   * Newest first by creation time (what the API shows), ties broken by insertion sequence. The
   * cursor carries the time as integer microseconds: a JS Date would drop PostgreSQL's
   * microseconds and skip or repeat rows at page boundaries.
   */
  async listDeadLetters(query: { limit: number; before?: DeadLetterCursor }): Promise<(DeadLetterRow & DeadLetterCursor)[]> {
    const q = this.db("dead_letters")
      .select("*", this.db.raw("(extract(epoch FROM created_at) * 1000000)::bigint AS created_us"))
      .orderBy([{ column: "created_at", order: "desc" }, { column: "seq", order: "desc" }])
      .limit(query.limit);
    if (query.before) {
      q.whereRaw("(created_at, seq) < (timestamptz 'epoch' + ?::bigint * interval '1 microsecond', ?::bigint)", [
        query.before.created_us,
        query.before.seq,
      ]);
    }
    return q;
  }

  async getDeadLetter(id: string): Promise<DeadLetterRow | undefined> {
    return this.db<DeadLetterRow>("dead_letters").where({ id }).first();
  }

  /** Takes the one replay an entry gets; undefined when it is missing, not replayable or taken. */
  async claimReplay(id: string): Promise<DeadLetterRow | undefined> {
    const rows: DeadLetterRow[] = await this.db("dead_letters")
      .where({ id })
      .whereNull("replay_time")
      .whereNotNull("message")
      .update({ replay_time: this.db.fn.now() })
      .returning("*");
    return rows[0];
  }

  /** Records the replay's outcome; a delivered replay also completes the notification. */
  async finishReplay(letter: DeadLetterRow, outcome: { sent: true } | { sent: false; error: string }): Promise<DeadLetterRow> {
    return this.db.transaction(async (trx) => {
      const rows: DeadLetterRow[] = await trx("dead_letters")
        .where({ id: letter.id })
        .update({ replay_status: outcome.sent ? "sent" : "failed", replay_error: outcome.sent ? null : outcome.error })
        .returning("*");
      if (outcome.sent && letter.notification_id) {
        await trx("notifications")
          .where({ id: letter.notification_id, status: "dead_lettered" })
          .update({ status: "sent", sent_at: trx.fn.now(), last_error: null, attempts: trx.raw("attempts + 1"), updated_at: trx.fn.now() });
      } else if (letter.notification_id) {
        await trx("notifications").where({ id: letter.notification_id }).update({ attempts: trx.raw("attempts + 1"), updated_at: trx.fn.now() });
      }
      return rows[0]!;
    });
  }

  async findContact(bookingId: string): Promise<PatientContact | undefined> {
    const row = await this.db<{ booking_id: string; patient_name: string; patient_contact: string; patient_phone: string; slot_start_time: Date | null }>(
      "booking_contacts",
    )
      .where({ booking_id: bookingId })
      .first();
    return row
      ? { patientName: row.patient_name, patientContact: row.patient_contact, patientPhone: row.patient_phone, slotStartTime: row.slot_start_time ?? undefined }
      : undefined;
  }

  async deleteContact(bookingId: string): Promise<void> {
    await this.db("booking_contacts").where({ booking_id: bookingId }).delete();
  }

  async purgeContacts(olderThanHours: number): Promise<number> {
    return this.db("booking_contacts").whereRaw("created_at < now() - make_interval(hours => ?::integer)", [olderThanHours]).delete();
  }
}

async function insertDeadLetter(trx: Knex.Transaction, row: NotificationRow, message: OutgoingMessage, letter: NewDeadLetter): Promise<DeadLetterRow> {
  const rows: DeadLetterRow[] = await trx("dead_letters")
    .insert({
      notification_id: row.id,
      event_id: row.event_id,
      booking_id: row.booking_id,
      event_type: row.event_type,
      channel: row.channel,
      reason: letter.reason,
      error: letter.error,
      attempts: letter.attempts,
      payload: letter.payload,
      message: JSON.stringify(message),
      source_topic: letter.source.topic,
      source_partition: letter.source.partition,
      source_offset: letter.source.offset,
    })
    .returning("*");
  return rows[0]!;
}
