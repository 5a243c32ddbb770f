import { Client } from "pg";
import { databaseAt } from "../databases";
import type { PgSettings } from "../config";
import { Recorder } from "../stats";
import { runPgbench, type PgbenchPlan } from "./pgbench";

/**
 * The connection pooler's promise, measured: many booking clients through PgBouncer (transaction
 * pooling) hold no more server connections than PgBouncer's pool of the shard, however many
 * clients there are. Each client is a pgbench session running the booking transaction (mode d's
 * script), so every client is a real connection that books; PgBouncer's own counters (SHOW POOLS)
 * and PostgreSQL's (pg_stat_activity) are sampled while they run.
 */
export interface PoolerResult {
  /** Client connections opened to PgBouncer. */
  clients: number;
  /** PgBouncer's server connections allowed for the shard's database (SHOW DATABASES pool_size). */
  poolSize: number;
  /** Most server connections PgBouncer held for the database at once (SHOW POOLS sv_*). */
  peakServerConnections: number;
  /** Most clients PgBouncer had connected at once (cl_active + cl_waiting). */
  peakClientConnections: number;
  /** Most backends PostgreSQL had for the database beyond those before the run. */
  peakBackendsAdded: number;
  tps: number;
  transactions: number;
  failed: number;
  command: string;
  /** Server connections within the pool, every transaction done, no client aborted. */
  ok: boolean;
}

interface PoolRow {
  database: string;
  cl_active: string;
  cl_waiting: string;
  sv_active: string;
  sv_idle: string;
  sv_used: string;
  sv_tested: string;
  sv_login: string;
}

const SAMPLE_MS = 50;

export async function runPoolerCheck(options: {
  pgbenchBinary: string;
  pg: PgSettings;
  /** The shard as the stack names it: its primary's address at HAProxy and its database. */
  shardEntry: string;
  /** PgBouncer's `host:port`. */
  pgbouncerAddr: string;
  plan: Omit<PgbenchPlan, "protocol">;
  dir: string;
  print: (line: string) => void;
}): Promise<PoolerResult> {
  const shard = databaseAt(options.pg, options.shardEntry);
  const [host, port] = options.pgbouncerAddr.split(":");
  // PgBouncer's admin console (the services' login is one of its stats_users).
  const admin = new Client({ host, port: Number(port), user: options.pg.user, password: options.pg.password, database: "pgbouncer" });
  const direct = new Client({ ...shard, application_name: "loadtest-pooler-sampler" });
  await admin.connect();
  await direct.connect();
  try {
    const { rows: databases } = await admin.query<{ name: string; pool_size: string }>("SHOW DATABASES");
    const poolSize = Number(databases.find((d) => d.name === shard.database)?.pool_size ?? NaN);
    if (!Number.isInteger(poolSize)) throw new Error(`PgBouncer at ${options.pgbouncerAddr} has no database ${shard.database}`);
    const backends = async (): Promise<number> => {
      const { rows } = await direct.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        [shard.database],
      );
      return rows[0]!.n;
    };
    const backendsBefore = await backends();
    let peakServer = 0;
    let peakClients = 0;
    let peakBackends = backendsBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<PoolRow>("SHOW POOLS");
        for (const row of rows.filter((r) => r.database === shard.database)) {
          peakServer = Math.max(peakServer, Number(row.sv_active) + Number(row.sv_idle) + Number(row.sv_used) + Number(row.sv_tested) + Number(row.sv_login));
          peakClients = Math.max(peakClients, Number(row.cl_active) + Number(row.cl_waiting));
        }
        peakBackends = Math.max(peakBackends, await backends());
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      }
    })();
    let run;
    try {
      run = await runPgbench(
        options.pgbenchBinary,
        options.pg,
        `${options.pgbouncerAddr}/${shard.database}`,
        // Extended protocol, unnamed statements: PgBouncer 1.18's transaction pooling does not
        // carry a session's named prepared statements (the booking service sends them unnamed).
        { ...options.plan, protocol: "extended" },
        options.dir,
        new Recorder(),
        options.print,
        `${options.plan.scenario}/pgbench via PgBouncer`,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    return {
      clients: options.plan.clients,
      poolSize,
      peakServerConnections: peakServer,
      peakClientConnections: peakClients,
      peakBackendsAdded: Math.max(0, peakBackends - backendsBefore),
      tps: run.tps,
      transactions: run.transactions,
      failed: run.failed,
      command: run.command,
      ok: peakServer <= poolSize && run.exitCode === 0 && run.abortedClients === 0 && run.failed === 0 && run.transactions > 0,
    };
  } finally {
    await Promise.all([admin.end().catch(() => undefined), direct.end().catch(() => undefined)]);
  }
}
