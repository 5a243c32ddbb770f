import { z } from "zod";

/** A configuration value was missing or invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses environment variables against a zod schema. Every problem is reported at once, by
 * variable name, so an operator fixes a broken deployment in one round trip. Values are never
 * echoed back: they may be secrets.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  // Empty strings are treated as unset so `FOO=` cannot silently become a valid empty value.
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join(".") || "(environment)";
    return issue.code === "invalid_type" && issue.input === undefined
      ? `${name}: required but not set`
      : `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** For `main.ts`: parse once at start; on failure print what is wrong and exit non-zero. */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, serviceName: string): z.output<S> {
  try {
    return parseConfig(schema, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${serviceName}: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** Reusable field schemas so every service spells its settings the same way. */
export const env = {
  port: () => z.coerce.number().int().min(0).max(65535),
  positiveInt: () => z.coerce.number().int().positive(),
  nonNegativeInt: () => z.coerce.number().int().min(0),
  bool: () =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"])
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  logLevel: () => z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  /** Comma-separated list of non-empty items. */
  list: () =>
    z
      .string()
      .transform((v) => v.split(",").map((s) => s.trim()))
      .pipe(z.array(z.string().min(1)).min(1)),
  hostPort: () => z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected host:port"),
};

/** Settings every service shares: logging, gRPC listener, metrics endpoint, shutdown drain. */
export const commonConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: env.logLevel().default("info"),
  GRPC_HOST: z.string().default("127.0.0.1"),
  GRPC_PORT: env.port(),
  METRICS_PORT: env.port(),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt().default(10_000),
  /** Time between reporting NOT_SERVING and closing the listener, for load balancers to notice. */
  SHUTDOWN_GRACE_MS: env.nonNegativeInt().default(0),
  /** Where the edge publishes the keys that verify access tokens forwarded in gRPC metadata. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8080/.well-known/jwks.json"),
  JWT_ISSUER: z.string().default("clinic-edge"),
  JWT_AUDIENCE: z.string().default("clinic-api"),
});

/** PostgreSQL connection, as libpq's own variable names so psql and the service agree. */
export const databaseConfigSchema = z.object({
  PGHOST: z.string().default("127.0.0.1"),
  PGPORT: env.port().default(5432),
  PGUSER: z.string(),
  PGPASSWORD: z.string(),
  DB_POOL_MIN: env.nonNegativeInt().default(0),
  DB_POOL_MAX: env.positiveInt().default(10),
  DB_STATEMENT_TIMEOUT_MS: env.positiveInt().default(5_000),
});

export const redisConfigSchema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
});

export const kafkaConfigSchema = z.object({
  KAFKA_BROKERS: env.list().pipe(z.array(env.hostPort())),
});

export type CommonConfig = z.output<typeof commonConfigSchema>;
export type DatabaseConfig = z.output<typeof databaseConfigSchema>;
