import { Type, type Static } from "@sinclair/typebox";
import { notifierV1 } from "@clinic/proto";
import { DateTime, StringEnum, Uuid, closed, idParams, iso, listSchema, named, optionalIso, pageQueryFields, pageSchema } from "./common";

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
  named("Notification"),
);

export const NotificationListSchema = listSchema("NotificationList", "notifications", NotificationSchema);

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
  named("DeadLetter"),
);

export const DeadLetterPageSchema = pageSchema("DeadLetterPage", "deadLetters", DeadLetterSchema);

export const DeadLetterParams = idParams("deadLetterId");

export const DeadLetterQuery = Type.Object(
  pageQueryFields(),
  closed,
);

/** What a notification and a dead letter both say: which event of which booking, on which channel. */
function deliveryJson(d: notifierV1.Notification | notifierV1.DeadLetter) {
  const channel = channelName(d.channel);
  return { id: d.id, eventId: d.eventId, bookingId: d.bookingId, eventType: d.eventType, ...(channel ? { channel } : {}) };
}

export function notificationJson(n: notifierV1.Notification): Static<typeof NotificationSchema> {
  const status = statusName(n.status);
  const sentTime = optionalIso(n.sentTime);
  return {
    ...deliveryJson(n),
    ...(status ? { status } : {}),
    attempts: n.attempts,
    ...(n.error ? { error: n.error } : {}),
    createTime: iso(n.createTime, "notification.createTime"),
    ...(sentTime ? { sentTime } : {}),
  };
}

export function deadLetterJson(d: notifierV1.DeadLetter | undefined): Static<typeof DeadLetterSchema> {
  if (!d) throw new Error("notifier answered without a dead letter");
  const replayStatus = statusName(d.replayStatus);
  const replayTime = optionalIso(d.replayTime);
  return {
    ...deliveryJson(d),
    reason: d.reason,
    attempts: d.attempts,
    createTime: iso(d.createTime, "deadLetter.createTime"),
    ...(replayTime ? { replayTime } : {}),
    ...(replayStatus ? { replayStatus } : {}),
  };
}
