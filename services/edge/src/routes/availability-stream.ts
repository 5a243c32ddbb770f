import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { access } from "../access";
import { StreamRefused, type LiveAvailability } from "../live/live-availability";
import { STREAM_HEADERS } from "../live/seat-stream";
import { AvailabilityStreamHeaders, AvailabilityStreamQuery } from "../schemas/booking";
import { errorResponses, ref, ErrorSchema } from "../schemas/common";
import type { EdgeFastify } from "../type-provider";

export interface AvailabilityStreamOptions {
  live: LiveAvailability;
  /** LIVE_MAX_SLOTS_PER_STREAM. */
  maxSlots: number;
  /** The headers `onSend` would add; a stream's head is written before any `onSend` could run. */
  securityHeaders(request: FastifyRequest, reply: FastifyReply): void;
  /** Counts the stream as answered 200 now (its end says nothing about how the request went). */
  streamOpened(request: FastifyRequest, reply: FastifyReply): void;
}

const EVENTS = `Server-Sent Events. Each message is one slot's seats whenever its capacity or remaining seats change:

\`\`\`
id: <resume token>
event: availability
data: {"slotId":"…","capacity":2,"held":1,"remaining":1}
\`\`\`

\`data\` has the shape of a \`SlotAvailability\` of \`GET /api/v1/availability\`. A slot that does not exist (deleted, or never
created) comes as \`event: missing\` with \`data: {"slotId":"…"}\`. The current state of every slot is sent first. \`id\` is an
opaque token; a client that reconnects with it as \`Last-Event-ID\` (EventSource does) gets only what changed since. A
\`retry:\` line suggests the reconnection delay; \`: ping\` comment lines keep a quiet stream open through proxies.`;

/** `GET /api/v1/availability/stream`: live seats, public like `GET /api/v1/availability`. */
export function availabilityStreamRoutes(api: EdgeFastify, options: AvailabilityStreamOptions): void {
  const { live } = options;
  api.get(
    "/availability/stream",
    {
      config: { access: access.public },
      schema: {
        tags: ["bookings"],
        operationId: "streamAvailability",
        summary: "Seats left in several slots, pushed as they change",
        description:
          "Pushes each watched slot's seats when they change (fed by booking and slot events, not by polling). " +
          "At most `LIVE_MAX_SLOTS_PER_STREAM` (50) slots per stream, and `LIVE_MAX_STREAMS_PER_ADDRESS` (20) open streams per " +
          "client address on one server (429 `RATE_LIMITED` with `Retry-After` beyond); a server holding as many streams as " +
          "it may answers 503 `TOO_MANY_STREAMS`. Opening a stream counts as one request against the rate limits.",
        querystring: AvailabilityStreamQuery(options.maxSlots),
        headers: AvailabilityStreamHeaders,
        response: {
          200: {
            description: EVENTS,
            content: { "text/event-stream": { schema: { type: "string", description: "An unending stream of `text/event-stream` messages." } } },
          },
          429: ref(ErrorSchema, {
            description: "Over a rate limit, or the client address already holds as many open streams on this server as it may (`RATE_LIMITED`); see `Retry-After`.",
          }),
          503: ref(ErrorSchema, {
            description: "The server is shutting down (`SHUTTING_DOWN`), or holds as many streams as it may (`TOO_MANY_STREAMS`, with `Retry-After`).",
          }),
          // Nothing waits on a backend before the stream's head is written: no 504.
          ...Object.fromEntries(Object.entries(errorResponses()).filter(([status]) => status !== "503" && status !== "504")),
        },
      },
    },
    async (request, reply) => {
      const lastEventId = request.headers["last-event-id"];
      try {
        live.open({
          address: request.ip,
          // Events and the booking service spell ids in lower case; a client's order is kept.
          slotIds: [...new Set(request.query.slotIds.map((id) => id.toLowerCase()))],
          lastEventId: typeof lastEventId === "string" ? lastEventId : undefined,
          start: () => {
            void reply.headers(STREAM_HEADERS);
            options.securityHeaders(request, reply);
            reply.hijack();
            // The stream's own, the request id, rate-limit, CORS and security headers.
            const head: OutgoingHttpHeaders = {};
            for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) head[name] = value;
            reply.raw.writeHead(200, head);
            options.streamOpened(request, reply);
            return reply.raw;
          },
        });
      } catch (err) {
        if (err instanceof StreamRefused) void reply.header("retry-after", String(err.retryAfterSeconds));
        throw err;
      }
    },
  );
}
