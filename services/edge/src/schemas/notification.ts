import { Type, type Static } from "@sinclair/typebox";
import { notifierV1 } from "@clinic/proto";
import { DateTime, PageSize, PageToken, StringEnum, Uuid, iso, optionalIso, ref } from "./common";

const CHANNELS = ["email", "sms"] as const;
const STATUSES = ["sent", "failed"] as const;

const channelName = (channel: notifierV1.Channel): (typeof CHANNELS)[number] | undefined =>
  channel === notifierV1.Channel.CHANNEL_EMAIL ? "email" : channel === notifierV1.Channel.CHANNEL_SMS ? "sms" : undefined;

const statusName = (status: notifierV1.NotificationStatus): (typeof STATUSES)[number] | undefined =>
  status === notifierV1.NotificationStatus.NOTIFICATION_STATUS_SENT
    ? "sent"
    : status === notifierV1.NotificationStatus.NOTIFICATION_STATUS_FAILED
      ? "failed"
      : undefined;

export const NotificationSchema = Type.Object(
  {
    id: Type.String(),
    eventId: Uuid(),
    bookingId: Uuid(),
    eventType: Type.String({ description: "e.g. `booking.confirmed`" }),
    channel: Type.Optional(StringEnum(CHANNELS)),
    status: Type.Optional(StringEnum(STATUSES, { description: "Absent while a send is in progress." })),
    attempts: Type.Integer(),
    error: Type.Optional(Type.String({ description: "Last failure, when not sent." })),
    createTime: DateTime(),
    sentTime: Type.Optional(DateTime()),
  },
  { $id: "Notification", title: "Notification", additionalProperties: false },
);

export const NotificationListSchema = Type.Object(
  { notifications: Type.Array(ref(NotificationSchema)) },
  { $id: "NotificationList", title: "NotificationList", additionalProperties: false },
);

export const DeadLetterSchema = Type.Object(
  {
    id: Uuid(),
    eventId: Type.String({ description: "Empty for a message that could not be decoded." }),
    bookingId: Type.String(),
    eventType: Type.String(),
    channel: Type.Optional(StringEnum(CHANNELS)),
    reason: Type.String({ description: "MALFORMED, RETRIES_EXHAUSTED, PERMANENT_FAILURE or DELIVERY_UNKNOWN" }),
    attempts: Type.Integer(),
    createTime: DateTime(),
    replayTime: Type.Optional(DateTime()),
    replayStatus: Type.Optional(StringEnum(STATUSES)),
  },
  { $id: "DeadLetter", title: "DeadLetter", additionalProperties: false },
);

export const DeadLetterPageSchema = Type.Object(
  {
    deadLetters: Type.Array(ref(DeadLetterSchema)),
    nextPageToken: Type.Optional(Type.String({ description: "Absent on the last page." })),
  },
  { $id: "DeadLetterPage", title: "DeadLetterPage", additionalProperties: false },
);

export const DeadLetterParams = Type.Object({ deadLetterId: Uuid() }, { additionalProperties: false });

export const DeadLetterQuery = Type.Object(
  { pageSize: Type.Optional(PageSize), pageToken: Type.Optional(PageToken) },
  { additionalProperties: false },
);

export function notificationJson(n: notifierV1.Notification): Static<typeof NotificationSchema> {
  const channel = channelName(n.channel);
  const status = statusName(n.status);
  const sentTime = optionalIso(n.sentTime);
  return {
    id: n.id,
    eventId: n.eventId,
    bookingId: n.bookingId,
    eventType: n.eventType,
    ...(channel ? { channel } : {}),
    ...(status ? { status } : {}),
    attempts: n.attempts,
    ...(n.error ? { error: n.error } : {}),
    createTime: iso(n.createTime, "notification.createTime"),
    ...(sentTime ? { sentTime } : {}),
  };
}

export function deadLetterJson(d: notifierV1.DeadLetter | undefined): Static<typeof DeadLetterSchema> {
  if (!d) throw new Error("notifier answered without a dead letter");
  const channel = channelName(d.channel);
  const replayStatus = statusName(d.replayStatus);
  const replayTime = optionalIso(d.replayTime);
  return {
    id: d.id,
    eventId: d.eventId,
    bookingId: d.bookingId,
    eventType: d.eventType,
    ...(channel ? { channel } : {}),
    reason: d.reason,
    attempts: d.attempts,
    createTime: iso(d.createTime, "deadLetter.createTime"),
    ...(replayTime ? { replayTime } : {}),
    ...(replayStatus ? { replayStatus } : {}),
  };
}
