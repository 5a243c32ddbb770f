import { parseConfig } from "@clinic/platform";
import { freePort, stackEnv, testLogger } from "@clinic/test-support";
import { startEdge, type RunningEdge } from "../src/app";
import { configSchema } from "../src/config";

/**
 * An edge of its own over the test stack's PostgreSQL (database `databaseName`) and Redis, with
 * gRPC backends at ports nobody listens on: what these tests check is decided by the edge itself.
 */
export async function startTestEdge(databaseName: string, extra: Record<string, string> = {}): Promise<RunningEdge> {
  const dead = async () => `127.0.0.1:${await freePort()}`;
  const config = parseConfig(configSchema, {
    HTTP_PORT: "0",
    METRICS_PORT: "0",
    DOCTOR_ADDR: await dead(),
    SLOT_ADDR: await dead(),
    BOOKING_ADDR: await dead(),
    PGHOST: stackEnv("PGHOST"),
    PGPORT: stackEnv("PGPORT"),
    PGUSER: stackEnv("PGUSER"),
    PGPASSWORD: stackEnv("PGPASSWORD"),
    PGDATABASE: databaseName,
    REDIS_URL: stackEnv("REDIS_URL"),
    KAFKA_BROKERS: stackEnv("KAFKA_BROKERS"),
    // The API on its own; test/web-client.test.ts serves a web build.
    WEB_DIR: "none",
    ...extra,
  });
  return startEdge(config, testLogger("edge"));
}
