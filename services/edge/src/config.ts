import { commonConfigSchema, databaseConfigSchema, env, loadConfigOrExit, type DatabaseConfig } from "@clinic/platform";
import { z } from "zod";

/**
 * The edge serves HTTP, not gRPC, so the shared gRPC listener settings are dropped and HTTP ones
 * take their place; logging, metrics and shutdown settings are the ones every service shares.
 */
export const configSchema = commonConfigSchema.omit({ GRPC_HOST: true, GRPC_PORT: true }).extend({
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
  /**
   * The edge's own database (accounts, signing keys, refresh tokens). Accounts are off when
   * neither PGUSER nor PGPASSWORD is set (development without a database; the HTTP contract
   * tests); in production both are required.
   */
  ...databaseConfigSchema.shape,
  PGUSER: z.string().optional(),
  PGPASSWORD: z.string().optional(),
  PGDATABASE: z.string().default("clinic_edge"),
  JWT_ISSUER: z.string().default("clinic-edge"),
  JWT_AUDIENCE: z.string().default("clinic-api"),
  ACCESS_TOKEN_TTL_SECONDS: env.positiveInt().default(24 * 60 * 60),
  REFRESH_TOKEN_TTL_SECONDS: env.positiveInt().default(30 * 24 * 60 * 60),
  /** Created at start when no admin exists yet; both or neither. */
  BOOTSTRAP_ADMIN_EMAIL: z.email().optional(),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12).max(200).optional(),
}).superRefine((c, ctx) => {
  const pairs = [
    ["PGUSER", "PGPASSWORD"],
    ["BOOTSTRAP_ADMIN_EMAIL", "BOOTSTRAP_ADMIN_PASSWORD"],
  ] as const;
  for (const [a, b] of pairs) {
    if ((c[a] === undefined) !== (c[b] === undefined)) {
      const missing = c[a] === undefined ? a : b;
      ctx.addIssue({ code: "custom", path: [missing], message: `required when ${missing === a ? b : a} is set` });
    }
  }
  if (c.NODE_ENV === "production" && c.PGUSER === undefined) {
    ctx.addIssue({ code: "custom", path: ["PGUSER"], message: "required in production (accounts need the edge database)" });
  }
  if (c.BOOTSTRAP_ADMIN_EMAIL !== undefined && c.PGUSER === undefined) {
    ctx.addIssue({ code: "custom", path: ["PGUSER"], message: "required when BOOTSTRAP_ADMIN_EMAIL is set" });
  }
});

export type EdgeConfig = z.output<typeof configSchema>;

/** The database settings when accounts are on (PGUSER and PGPASSWORD set), else undefined. */
export function edgeDatabaseConfig(config: EdgeConfig): (DatabaseConfig & { PGDATABASE: string }) | undefined {
  if (config.PGUSER === undefined || config.PGPASSWORD === undefined) return undefined;
  return { ...config, PGUSER: config.PGUSER, PGPASSWORD: config.PGPASSWORD };
}

export const loadConfig = (): EdgeConfig => loadConfigOrExit(configSchema, "edge");
