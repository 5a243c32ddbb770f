import { env, parseConfig } from "@clinic/platform/config";
import { z } from "zod";

/**
 * What minting tokens needs: the edge (to sign the admin in, whose token shows the issuer,
 * audience and lifetime the edge uses) and the edge's database (its active signing key).
 */
export const tokenSchema = z.object({
  EDGE_URL: z.url(),
  ADMIN_EMAIL: z.string().min(1),
  ADMIN_PASSWORD: z.string().min(1),
  PGHOST: z.string().default("127.0.0.1"),
  PGPORT: env.port(),
  PGUSER: z.string(),
  PGPASSWORD: z.string(),
  CLINIC_DB_EDGE: z.string().default("clinic_edge"),
});

/**
 * Where the stack is: the variables of `$CLINIC_STATE_DIR/stack.env`, which `loadtest/run`
 * exports before starting the harness. Parsed once; every missing variable is named at once.
 */
const stackSchema = tokenSchema.extend({
  BOOKING_ADDR: env.hostPort(),
  DOCTOR_ADDR: env.hostPort(),
  SLOT_ADDR: env.hostPort(),
  CLINIC_DB_BOOKING_SHARDS: env.list(),
  /** For the per-process CPU breakdown (pid files under run/); optional. */
  CLINIC_STATE_DIR: z.string().optional(),
  /** A pgbench binary to use instead of the one found next to the PostgreSQL server. */
  PGBENCH: z.string().optional(),
  /** PgBouncer in front of the shards' primaries (`host:port`), when the stack runs one. */
  PGBOUNCER_ADDR: env.hostPort().optional(),
});

export type TokenConfig = z.output<typeof tokenSchema>;
export type StackConfig = z.output<typeof stackSchema>;

export function loadStackConfig(source: Record<string, string | undefined> = process.env): StackConfig {
  return parseConfig(stackSchema, source);
}

export function loadTokenConfig(source: Record<string, string | undefined> = process.env): TokenConfig {
  return parseConfig(tokenSchema, source);
}

export interface PgSettings {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const pgSettings = (config: TokenConfig): PgSettings => ({
  host: config.PGHOST,
  port: config.PGPORT,
  user: config.PGUSER,
  password: config.PGPASSWORD,
});
