import { env, parseConfig } from "@clinic/platform";
import { z } from "zod";

/**
 * Where the stack is: the variables of `$CLINIC_STATE_DIR/stack.env`, which `loadtest/run`
 * exports before starting the harness. Parsed once; every missing variable is named at once.
 */
const stackSchema = z.object({
  EDGE_URL: z.url(),
  BOOKING_ADDR: env.hostPort(),
  DOCTOR_ADDR: env.hostPort(),
  SLOT_ADDR: env.hostPort(),
  PGHOST: z.string().default("127.0.0.1"),
  PGPORT: env.port(),
  PGUSER: z.string(),
  PGPASSWORD: z.string(),
  CLINIC_DB_BOOKING_SHARDS: env.list(),
  /** For the per-process CPU breakdown (pid files under run/); optional. */
  CLINIC_STATE_DIR: z.string().optional(),
  /** A pgbench binary to use instead of the one found next to the PostgreSQL server. */
  PGBENCH: z.string().optional(),
});

export type StackConfig = z.output<typeof stackSchema>;

export function loadStackConfig(source: Record<string, string | undefined> = process.env): StackConfig {
  return parseConfig(stackSchema, source);
}

export interface PgSettings {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const pgSettings = (config: StackConfig): PgSettings => ({
  host: config.PGHOST,
  port: config.PGPORT,
  user: config.PGUSER,
  password: config.PGPASSWORD,
});
