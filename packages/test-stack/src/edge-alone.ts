import { parseConfig } from "@clinic/platform/config";
import { configSchema, startEdge, type RunningEdge } from "@clinic/edge-service";
import { deadAddress } from "./free-port";
import { stackServiceEnv, testLogger } from "./stack-env";

/**
 * An edge of its own over the test stack's PostgreSQL (database `databaseName`) and Redis, with
 * gRPC backends at ports nobody listens on: what these tests check is decided by the edge itself.
 */
export async function startTestEdge(databaseName: string, extra: Record<string, string> = {}): Promise<RunningEdge> {
  const config = parseConfig(configSchema, {
    HTTP_PORT: "0",
    METRICS_PORT: "0",
    DOCTOR_ADDR: await deadAddress(),
    SLOT_ADDR: await deadAddress(),
    BOOKING_ADDR: await deadAddress(),
    ...stackServiceEnv(),
    PGDATABASE: databaseName,
    // The API on its own; services/edge/test/web-client.test.ts serves a web build.
    WEB_DIR: "none",
    ...extra,
  });
  return startEdge(config, testLogger("edge"));
}
