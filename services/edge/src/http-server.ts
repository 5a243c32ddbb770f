import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Logger } from "@clinic/platform/logging";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { registerAccessControl } from "./access";
import { AuditLog, registerAuditLog } from "./audit";
import { accountRoutes } from "./auth/account-routes";
import { AUTH_SCHEMAS, authRoutes, jwksRoute } from "./auth/routes";
import type { AuthService } from "./auth/service";
import type { SignInThrottle } from "./auth/sign-in-throttle";
import type { Backends } from "./backends";
import type { EdgeConfig } from "./config";
import { ApiError, replyError } from "./errors";
import { registerHttpMetrics } from "./http-metrics";
import { registerHttpTracing } from "./http-tracing";
import { coerceQuery } from "./query-coercion";
import { bookingRoutes } from "./routes/bookings";
import { waitlistRoutes } from "./routes/waitlist";
import { WaitlistEntrySchema, WaitlistListSchema } from "./schemas/waitlist";
import { doctorRoutes } from "./routes/doctors";
import { healthRoutes, type HealthState } from "./routes/health";
import { notificationRoutes } from "./routes/notifications";
import { API_PREFIX } from "./routes/prefix";
import { slotRoutes } from "./routes/slots";
import { registerWebClient } from "./web-client";
import type { LiveAvailability } from "./live/live-availability";
import { availabilityStreamRoutes } from "./routes/availability-stream";
import type { RateLimiter } from "./rate-limit";
import { registerSecurityHeaders } from "./security-headers";
import { AvailabilitySchema, BookingPageSchema, BookingPolicySchema, BookingSchema, SlotAvailabilitySchema } from "./schemas/booking";
import { ErrorSchema } from "./schemas/common";
import { DoctorPageSchema, DoctorSchema } from "./schemas/doctor";
import { DeadLetterPageSchema, DeadLetterSchema, NotificationListSchema, NotificationSchema } from "./schemas/notification";
import { SlotBatchSchema, SlotListSchema, SlotPageSchema, SlotSchema } from "./schemas/slot";
import type { EdgeFastify, TypeBoxProvider } from "./type-provider";

export interface ServerState extends HealthState {
  /** Set when the listener starts closing: requests still arriving on kept-alive connections get 503. */
  closing: boolean;
}

export interface ServerOptions {
  config: EdgeConfig;
  logger: Logger;
  backends: Backends;
  registry: Registry;
  state: ServerState;
  auth: AuthService;
  limiter: RateLimiter;
  signInThrottle: SignInThrottle;
  /** Live availability streams; closed with the server (before it waits for requests to finish). */
  live: LiveAvailability;
}

// Same rules as ajv-formats' "email"; E.164 is "+", a country code not starting with 0, and at
// most 15 digits in all.
const EMAIL =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const E164 = /^\+[1-9][0-9]{6,14}$/;

/** Schemas answers share; registered once, they become named components in the OpenAPI document. */
const SHARED_SCHEMAS = [
  ErrorSchema,
  DoctorSchema,
  DoctorPageSchema,
  SlotSchema,
  SlotListSchema,
  SlotPageSchema,
  SlotBatchSchema,
  BookingSchema,
  BookingPageSchema,
  BookingPolicySchema,
  WaitlistEntrySchema,
  WaitlistListSchema,
  SlotAvailabilitySchema,
  AvailabilitySchema,
  NotificationSchema,
  NotificationListSchema,
  DeadLetterSchema,
  DeadLetterPageSchema,
];

interface KnownRoute {
  method: string;
  pattern: RegExp;
}

function routePattern(url: string): RegExp {
  const source = url
    .split("/")
    .map((segment) =>
      segment === "*" ? ".*" : segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${source}$`);
}

/** Raw-socket answer for requests the HTTP parser refused; see `clientErrorHandler`. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "HEADERS_TOO_LARGE", "the request's headers (or its URL) are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "REQUEST_TIMEOUT", "the request was not received in time"]
        : [400, "BAD_REQUEST", "the request cannot be parsed as HTTP"];
  const body = JSON.stringify({ error: { code, message, details: [] } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Builds the HTTP server without listening, so tests can also drive it with `inject`.
 */
export async function buildServer(options: ServerOptions): Promise<EdgeFastify> {
  const { config, logger, backends, registry, state, auth, limiter } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Request logs would be one line per call at the busiest tier; metrics count requests and
    // errors are logged where they are answered (5xx only).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    genReqId: () => randomUUID(),
    // Behind the mesh the client's address is the Nth-last X-Forwarded-For entry, not the socket's.
    ...(config.HTTP_TRUSTED_PROXY_HOPS > 0 ? { trustProxy: (_address: string, hop: number) => hop < config.HTTP_TRUSTED_PROXY_HOPS } : {}),
    // The drain answer is ours (same error shape), not Fastify's built-in one; see onRequest.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    ajv: {
      customOptions: {
        // A body's `"5"` is not the number 5, and an unknown field is an error, not something to
        // drop: the defaults (coerce, strip) would accept what the client did not mean. Query
        // strings are typed by `coerceQuery` instead.
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        // Every bad field in one answer. Safe here: bodies are small (bodyLimit) and every
        // array has a maxItems.
        allErrors: true,
        formats: {
          contact: (value: string) => EMAIL.test(value) || E164.test(value),
          e164: E164,
        },
      },
    },
    // Requests Node's HTTP parser refuses (headers over the size limit, malformed request lines)
    // never reach Fastify's routing; they still get the one error shape.
    clientErrorHandler: answerClientError,
    frameworkErrors: (err, request, reply) => {
      replyError(request, reply, err);
    },
  }).withTypeProvider<TypeBoxProvider>();

  // JSON only: Fastify's text/plain parser would hand a string to handlers that expect objects.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser(
    ["application/json", "application/merge-patch+json"],
    { parseAs: "string" },
    (request, body, done) => {
      // `Content-Type: application/json` with an empty body (common for POST .../confirm) means
      // "no body"; routes that need one say so through their schema.
      if (body === "") done(null, undefined);
      // The default parser answers through `done`; it returns nothing to await.
      else void parseJson(request, body as string, done);
    },
  );

  const knownRoutes: KnownRoute[] = [];
  app.addHook("onRoute", (route) => {
    // The CORS preflight route matches every path; it says nothing about which methods exist.
    if (route.url === "*" || route.config?.clientRoute) return;
    for (const method of [route.method].flat()) knownRoutes.push({ method, pattern: routePattern(route.url) });
  });

  app.addHook("onRequest", async (request, reply) => {
    void reply.header("x-request-id", request.id);
    if (state.closing) {
      void reply.header("connection", "close");
      throw new ApiError(503, "SHUTTING_DOWN", "the server is shutting down; retry");
    }
  });
  const securityHeaders = await registerSecurityHeaders(app, config);
  registerAccessControl(app, { auth, limiter, registry });
  const audit = new AuditLog(auth.db);
  registerAuditLog(app, audit, logger, registry);
  app.addHook("preValidation", async (request) => coerceQuery(request));
  const httpMetrics = registerHttpMetrics(app, registry);
  registerHttpTracing(app);

  app.setErrorHandler((err, request, reply) => replyError(request, reply, err));
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0] ?? "";
    const allowed = [...new Set(knownRoutes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      void reply.header("allow", allowed.sort().join(", "));
      return replyError(request, reply, new ApiError(405, "METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${path}`));
    }
    return replyError(request, reply, new ApiError(404, "NOT_FOUND", `no route ${request.method} ${path}`));
  });

  for (const schema of [...SHARED_SCHEMAS, ...AUTH_SCHEMAS]) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Clinic booking API",
        version: "1.0.0",
        description:
          "Book doctors' appointment slots. Times are RFC 3339 instants (answers in UTC); every error " +
          "answers `{ error: { code, message, details } }` where `code` is a stable machine-readable reason.",
      },
      tags: [
        { name: "doctors", description: "Doctors and their specializations" },
        { name: "slots", description: "Bookable time ranges with a seat capacity" },
        { name: "bookings", description: "Seats held, confirmed and cancelled" },
        { name: "admin", description: "Operations across all shards" },
        { name: "auth", description: "Accounts, access and refresh tokens, signing keys" },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: "http",
            scheme: "bearer",
            bearerFormat: "JWT",
            description: "An access token from `POST /api/v1/auth/token`; keys at `/.well-known/jwks.json`.",
          },
        },
      },
    },
    // Shared schemas keep their $id as the component name (`#/components/schemas/Booking`).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json["$id"] ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await registerWebClient(app, config.WEB_DIR, logger);

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  healthRoutes(app, backends, state, config.READINESS_TIMEOUT_MS);
  jwksRoute(app, auth);

  await app.register(
    async (api) => {
      doctorRoutes(api, backends);
      slotRoutes(api, backends);
      bookingRoutes(api, backends);
      waitlistRoutes(api, backends);
      availabilityStreamRoutes(api, {
        live: options.live,
        maxSlots: config.LIVE_MAX_SLOTS_PER_STREAM,
        securityHeaders,
        streamOpened: httpMetrics.streamOpened,
      });
      notificationRoutes(api, backends);
      authRoutes(api, auth, options.signInThrottle);
      accountRoutes(api, auth, backends, audit);
    },
    { prefix: API_PREFIX },
  );

  // Streams never finish on their own: they are ended when closing starts, so the server's wait
  // for in-flight requests is not a wait for the shutdown timeout.
  app.addHook("preClose", async () => options.live.close());

  await app.ready();
  return app;
}
