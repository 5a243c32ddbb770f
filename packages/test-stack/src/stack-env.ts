import { randomBytes } from "node:crypto";
import { createLogger, type Logger } from "@clinic/platform/logging";

/**
 * A setting of the test stack that `scripts/test` exports. Missing means the tests were started
 * some other way; say how to start them rather than fail obscurely later.
 */
export function stackEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the test stack`);
  }
  return value;
}

export const testLogger = (service = "test"): Logger =>
  createLogger({ service, level: process.env["TEST_LOG_LEVEL"] ?? "silent" });

/** The test stack's PostgreSQL, Kafka and Redis, as a service's settings name them. */
export const stackServiceEnv = (): Record<string, string> => ({
  KAFKA_BROKERS: stackEnv("KAFKA_BROKERS"),
  REDIS_URL: stackEnv("REDIS_URL"),
  ...stackPostgresEnv(),
});

/** The test stack's PostgreSQL server (a service adds its own PGDATABASE). */
export const stackPostgresEnv = (): Record<"PGHOST" | "PGPORT" | "PGUSER" | "PGPASSWORD", string> => ({
  PGHOST: stackEnv("PGHOST"),
  PGPORT: stackEnv("PGPORT"),
  PGUSER: stackEnv("PGUSER"),
  PGPASSWORD: stackEnv("PGPASSWORD"),
});

/** Connection settings for a database of the test stack's PostgreSQL. */
export function databaseSettings(database: string) {
  return {
    host: stackEnv("PGHOST"),
    port: Number(stackEnv("PGPORT")),
    user: stackEnv("PGUSER"),
    password: stackEnv("PGPASSWORD"),
    database,
    poolMin: 0,
    poolMax: 10,
    statementTimeoutMs: 10_000,
    applicationName: "test",
  };
}

/** A key prefix of its own per test file, so parallel test stacks sharing one Redis never meet. */
export const uniqueKeyPrefix = (name: string): string => `test-${name}-${randomBytes(4).toString("hex")}:`;
