import { access } from "../access";
import type { Backends } from "../backends";
import { rpc } from "../grpc-call";
import { BookingParams } from "../schemas/booking";
import { errorResponses, ref } from "../schemas/common";
import {
  DeadLetterPageSchema,
  DeadLetterParams,
  DeadLetterQuery,
  DeadLetterSchema,
  NotificationListSchema,
  deadLetterJson,
  notificationJson,
} from "../schemas/notification";
import type { EdgeFastify } from "../type-provider";
import { operation } from "./operation";
import { pageJson, pageRequest } from "./pages";
import { refuseBody } from "./no-body";

const tags = ["notifications", "admin"];

/** What the notifier sent for a booking, and the dead letters an operator reviews and replays. */
export function notificationRoutes(api: EdgeFastify, { notifier }: Backends): void {
  api.get(
    "/bookings/:bookingId/notifications",
    operation(tags, access.admin, {
      operationId: "listBookingNotifications",
      summary: "Notifications sent for a booking (admin)",
      params: BookingParams,
      response: { 200: ref(NotificationListSchema), ...errorResponses() },
    }),
    async (request) => {
      const res = await rpc(request.caller, notifier.listNotifications, { bookingId: request.params.bookingId }, { booking_id: "bookingId" });
      return { notifications: res.notifications.map(notificationJson) };
    },
  );

  api.get(
    "/admin/dead-letters",
    operation(tags, access.admin, {
      operationId: "listDeadLetters",
      summary: "Notifications that failed after their retries, newest first (admin)",
      querystring: DeadLetterQuery,
      response: { 200: ref(DeadLetterPageSchema), ...errorResponses() },
    }),
    async (request) => {
      const res = await rpc(request.caller, notifier.listDeadLetters, pageRequest(request.query));
      return pageJson("deadLetters", res.deadLetters.map(deadLetterJson), res.nextPageToken);
    },
  );

  api.post(
    "/admin/dead-letters/:deadLetterId/replay",
    operation(tags, access.admin, {
      operationId: "replayDeadLetter",
      summary: "Send a dead-lettered notification once more (admin)",
      description: "409 when it was already replayed; 422 when the entry cannot be replayed (malformed message).",
      params: DeadLetterParams,
      response: { 200: ref(DeadLetterSchema), ...errorResponses(404, 409, 422) },
    }, { preValidation: refuseBody }),
    async (request) =>
      deadLetterJson((await rpc(request.caller, notifier.replayDeadLetter, { id: request.params.deadLetterId }, { id: "deadLetterId" })).deadLetter),
  );
}
