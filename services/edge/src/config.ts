import { dirname, join } from "node:path";
import { commonConfigSchema, databaseConfigSchema, env, loadConfigOrExit, redisConfigSchema } from "@clinic/platform";
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
  DOCTOR_ADDR: env.hostPort().default("127.0.0.1:50051"),
  SLOT_ADDR: env.hostPort().default("127.0.0.1:50052"),
  BOOKING_ADDR: env.hostPort().default("127.0.0.1:50053"),
  /** Notifications and dead letters (admin routes only; readiness does not depend on it). */
  NOTIFIER_ADDR: env.hostPort().default("127.0.0.1:50054"),
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
  ...databaseConfigSchema.shape,
  PGDATABASE: z.string().default("clinic_edge"),
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
