import { dirname, join } from "node:path";
import {
  commonConfigSchema,
  env,
  kafkaConfigSchema,
  loadConfigOrExit,
  ownDatabaseConfigSchema,
  peerAddressConfigSchema,
  redisConfigSchema,
} from "@clinic/platform/config";
import { TOPICS } from "@clinic/platform/kafka";
import { z } from "zod";

/**
 * Where the web client's build is when the edge runs from this repository: the `web` workspace's
 * `dist/` (npm links the workspace into node_modules, so this holds from source and compiled
 * code alike). Elsewhere (an image with the edge alone) there is none and `/` serves nothing.
 */
function defaultWebDir(): string {
  try {
    return join(dirname(require.resolve("@clinic/web/package.json")), "dist");
  } catch {
    return WEB_CLIENT_OFF;
  }
}

/** `WEB_DIR=none`: no web client (an empty value means "unset", i.e. the default). */
export const WEB_CLIENT_OFF = "none";

/**
 * The edge serves HTTP, not gRPC, so the shared gRPC listener settings are dropped and HTTP ones
 * take their place; logging, metrics and shutdown settings are the ones every service shares.
 */
export const configSchema = commonConfigSchema.omit({ GRPC_HOST: true, GRPC_PORT: true, AUTH_JWKS_URL: true }).extend({
  /** Loopback by default; a container sets 0.0.0.0. The metrics endpoint listens on it too. */
  HTTP_HOST: z.string().default("127.0.0.1"),
  HTTP_PORT: env.port().default(8080),
  METRICS_PORT: env.port().default(9464),
  /** Every backend; the notifier serves notifications and dead letters (admin routes only; readiness does not depend on it). */
  ...peerAddressConfigSchema.shape,
  /** Deadline of every gRPC call made for an HTTP request. */
  GRPC_DEADLINE_MS: env.positiveInt().default(5_000),
  /** Deadline of each backend's health check behind `/readyz`. */
  READINESS_TIMEOUT_MS: env.positiveInt().default(1_000),
  /** Largest request body accepted; larger ones are answered 413 without being read. */
  HTTP_BODY_LIMIT_BYTES: env.positiveInt().default(64 * 1024),
  /** Time a client gets to send a whole request (slow-client protection). */
  HTTP_REQUEST_TIMEOUT_MS: env.positiveInt().default(30_000),
  /** Idle keep-alive connections are closed after this long. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: env.positiveInt().default(65_000),
  /** The edge's own database: accounts, signing keys, refresh tokens, the audit log. */
  ...ownDatabaseConfigSchema("clinic_edge").shape,
  JWT_ISSUER: z.string().default("clinic-edge"),
  JWT_AUDIENCE: z.string().default("clinic-api"),
  ACCESS_TOKEN_TTL_SECONDS: env.positiveInt().default(24 * 60 * 60),
  REFRESH_TOKEN_TTL_SECONDS: env.positiveInt().default(30 * 24 * 60 * 60),
  /**
   * The signing key is replaced once it is this old (section 8.1: monthly), checked at start and
   * hourly by every replica; 0 leaves rotation to the `rotate-keys` command.
   */
  SIGNING_KEY_ROTATION_DAYS: env.nonNegativeInt().default(30),
  /** Created at start when no admin exists yet; both or neither. */
  BOOTSTRAP_ADMIN_EMAIL: z.email().optional(),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12).max(200).optional(),
  /** Rate limits live in Redis so every replica counts against one budget. */
  ...redisConfigSchema.shape,
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: env.positiveInt().default(10),
  RATE_LIMIT_ACCOUNT_PER_MINUTE: env.positiveInt().default(100),
  RATE_LIMIT_FLOOD_PER_SECOND: env.positiveInt().default(1000),
  /** A Redis check slower than this falls back to the replica's own counters. */
  RATE_LIMIT_REDIS_TIMEOUT_MS: env.positiveInt().default(200),
  /** Failed sign-ins per e-mail address within the window before its sign-ins wait for the window to end. */
  SIGN_IN_MAX_FAILURES: env.positiveInt().default(10),
  SIGN_IN_FAILURE_WINDOW_SECONDS: env.positiveInt().default(15 * 60),
  /** Prefix of the limiter's Redis keys, when several deployments or test stacks share one Redis. */
  RATE_LIMIT_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]*$/, "letters, digits and _ . : - only").default(""),
  /**
   * How many proxies in front of the edge append to X-Forwarded-For (the mesh's ingress gateway
   * and sidecar: 2). 0 trusts none: the client address is the socket's.
   */
  HTTP_TRUSTED_PROXY_HOPS: env.nonNegativeInt().default(0),
  /** Browser origins allowed to call the API (CORS); unset means none. */
  CORS_ALLOWED_ORIGINS: env.list().optional(),
  /** Strict-Transport-Security max-age; 0 leaves the header out (plain-HTTP development). */
  HSTS_MAX_AGE_SECONDS: env.nonNegativeInt().default(0),
  /**
   * The web client's built files (index.html and hashed assets/), served at `/` on the API's own
   * origin; `none` serves no web client. Read at start: restart the edge after rebuilding it.
   */
  WEB_DIR: z.string().default(defaultWebDir()),
  /**
   * Live availability (`GET /api/v1/availability/stream`): every replica reads every booking and
   * slot event, for the slots its own clients watch.
   */
  ...kafkaConfigSchema.shape,
  BOOKING_EVENTS_TOPIC: z.string().default(TOPICS.bookingEvents),
  SLOT_EVENTS_TOPIC: z.string().default(TOPICS.slotEvents),
  /** Slots one stream may watch; more are refused (`VALIDATION_FAILED` on `slotIds`). */
  LIVE_MAX_SLOTS_PER_STREAM: env.positiveInt().default(50),
  /** Open streams per client address on one replica; more are refused (429 `RATE_LIMITED`). */
  LIVE_MAX_STREAMS_PER_ADDRESS: env.positiveInt().default(20),
  /** Open streams on one replica, whoever holds them; more are refused (503 `TOO_MANY_STREAMS`). */
  LIVE_MAX_STREAMS: env.positiveInt().default(10_000),
  /** A comment line this often keeps proxies from closing a quiet stream. */
  LIVE_HEARTBEAT_MS: env.positiveInt().default(15_000),
  /** The reconnection delay suggested to clients (`retry:`); each stream adds up to as much again at random. */
  LIVE_RETRY_MS: env.positiveInt().default(3_000),
  /** A stream whose client has not read what was sent for this long is closed (it may reconnect and resume). */
  LIVE_STALL_TIMEOUT_MS: env.positiveInt().default(60_000),
  /** Seat reads (GetAvailability calls) in flight at once for all streams of the replica. */
  LIVE_MAX_READS_IN_FLIGHT: env.positiveInt().default(4),
  /**
   * One more read of a slot this long after its last event-driven read (0: none); see
   * `live/seat-reader.ts` for the race it closes.
   */
  LIVE_SETTLE_READ_MS: env.nonNegativeInt().default(1_000),
}).superRefine((c, ctx) => {
  if ((c.BOOTSTRAP_ADMIN_EMAIL === undefined) !== (c.BOOTSTRAP_ADMIN_PASSWORD === undefined)) {
    const missing = c.BOOTSTRAP_ADMIN_EMAIL === undefined ? "BOOTSTRAP_ADMIN_EMAIL" : "BOOTSTRAP_ADMIN_PASSWORD";
    ctx.addIssue({ code: "custom", path: [missing], message: "required when the other BOOTSTRAP_ADMIN_* is set" });
  }
  for (const origin of c.CORS_ALLOWED_ORIGINS ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      ctx.addIssue({ code: "custom", path: ["CORS_ALLOWED_ORIGINS"], message: `${origin} is not an origin (scheme://host[:port])` });
    }
  }
});

export type EdgeConfig = z.output<typeof configSchema>;

export const loadConfig = (): EdgeConfig => loadConfigOrExit(configSchema, "edge");
