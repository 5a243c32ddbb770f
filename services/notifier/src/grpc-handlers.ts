import { requireRole } from "@clinic/platform/auth";
import { Validator, decodeCursor, defineService, pageOf, uuidArgument } from "@clinic/platform/grpc";
import { notifierV1 } from "@clinic/proto";
import type { DeadLetterReplayer } from "./dead-letter-replay";
import type { DeadLetterRow, NotificationRepository, NotificationRow } from "./notification-repository";
import type { Channel } from "./notification-policy";

export const NOTIFIER_SERVICE_NAME = "clinic.notifier.v1.NotifierService";

const CHANNEL: Record<Channel, notifierV1.Channel> = {
  email: notifierV1.Channel.CHANNEL_EMAIL,
  sms: notifierV1.Channel.CHANNEL_SMS,
};

/** Pending and in-flight notifications have no final status yet: UNSPECIFIED. */
function statusOf(row: NotificationRow): notifierV1.NotificationStatus {
  switch (row.status) {
    case "sent":
      return notifierV1.NotificationStatus.NOTIFICATION_STATUS_SENT;
    case "dead_lettered":
      return notifierV1.NotificationStatus.NOTIFICATION_STATUS_FAILED;
    case "pending":
    case "sending":
      return notifierV1.NotificationStatus.NOTIFICATION_STATUS_UNSPECIFIED;
  }
}

const toNotification = (row: NotificationRow): notifierV1.Notification => ({
  id: row.id,
  eventId: row.event_id,
  bookingId: row.booking_id,
  eventType: row.event_type,
  channel: CHANNEL[row.channel],
  status: statusOf(row),
  attempts: row.attempts,
  error: row.status === "sent" ? "" : (row.last_error ?? ""),
  createTime: row.created_at,
  sentTime: row.sent_at ?? undefined,
});

export const toDeadLetter = (row: DeadLetterRow): notifierV1.DeadLetter => ({
  id: row.id,
  eventId: row.event_id ?? "",
  bookingId: row.booking_id ?? "",
  eventType: row.event_type ?? "",
  channel: row.channel ? CHANNEL[row.channel] : notifierV1.Channel.CHANNEL_UNSPECIFIED,
  reason: row.reason,
  attempts: row.attempts,
  createTime: row.created_at,
  replayTime: row.replay_time ?? undefined,
  replayStatus:
    row.replay_status === "sent"
      ? notifierV1.NotificationStatus.NOTIFICATION_STATUS_SENT
      : row.replay_status === "failed"
        ? notifierV1.NotificationStatus.NOTIFICATION_STATUS_FAILED
        : notifierV1.NotificationStatus.NOTIFICATION_STATUS_UNSPECIFIED,
});

/** An admin API for operators: delivery records of every booking, and replays that send messages again. */
export function notifierService(repo: NotificationRepository, replayer: DeadLetterReplayer) {
  return defineService(NOTIFIER_SERVICE_NAME, notifierV1.NotifierServiceService, {
    async listNotifications(req, { caller }) {
      requireRole(caller, "admin");
      const bookingId = uuidArgument("booking_id", req.bookingId);
      return { notifications: (await repo.listByBooking(bookingId)).map(toNotification) };
    },

    async listDeadLetters(req, { caller }) {
      requireRole(caller, "admin");
      const v = new Validator();
      const limit = v.pageSize("page_size", req.pageSize);
      v.check();
      const cursor = decodeCursor("page_token", req.pageToken, ["t", "s"]);
      const before = cursor ? { created_us: Number(cursor.t), seq: Number(cursor.s) } : undefined;
      if (before && !(Number.isSafeInteger(before.created_us) && Number.isSafeInteger(before.seq))) {
        v.add("page_token", "is not a valid page token");
        v.check();
      }
      const rows = await repo.listDeadLetters({ limit: limit + 1, ...(before ? { before } : {}) });
      const { page, nextPageToken } = pageOf(rows, limit, (last) => ({ t: last.created_us, s: last.seq }));
      return { deadLetters: page.map(toDeadLetter), nextPageToken };
    },

    async replayDeadLetter(req, { caller }) {
      requireRole(caller, "admin");
      const id = uuidArgument("id", req.id);
      return { deadLetter: toDeadLetter(await replayer.replay(id)) };
    },
  });
}
