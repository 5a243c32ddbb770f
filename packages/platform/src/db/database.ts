import knexFactory, { type Knex } from "knex";
import { types as pgTypes } from "pg";
import { Gauge, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS } from "../metrics/metrics";
import type { DatabaseConfig } from "../config/shared-schemas";
import type { Lifecycle } from "../service/lifecycle";
import type { Logger } from "../logging/logger";

export type { Knex } from "knex";

// int8 (COUNT(*), bigint ids) as JS numbers: our counts stay far below 2^53, and strings
// would leak into API responses.
pgTypes.setTypeParser(pgTypes.builtins.INT8, (value) => Number.parseInt(value, 10));

export interface DatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  poolMin: number;
  poolMax: number;
  statementTimeoutMs: number;
  /** Shown in pg_stat_activity, so a DBA sees which service holds a connection. */
  applicationName: string;
  /**
   * The address is a transaction pooler (PgBouncer in transaction mode): consecutive
   * transactions of one pool connection may run on different server connections, so nothing
   * may rely on session state, named prepared statements included (see `runPrepared`).
   */
  transactionPooled?: boolean;
}

const transactionPooled = new WeakSet<Knex>();

/** Whether `knex` talks to a transaction pooler (`DatabaseSettings.transactionPooled`). */
export const isTransactionPooled = (knex: Knex): boolean => transactionPooled.has(knex);

/**
 * A knex instance over node-postgres. After a failover the address stays the same (HAProxy or
 * a Kubernetes Service in front of the primary), so a dead connection is simply discarded by the
 * pool and the next acquire dials the new primary.
 */
export function createDatabase(settings: DatabaseSettings): Knex {
  const knex = knexFactory({
    client: "pg",
    connection: {
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      application_name: settings.applicationName,
      statement_timeout: settings.statementTimeoutMs,
      // Bounded connect so a down database fails a request instead of hanging it.
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    },
    pool: {
      min: settings.poolMin,
      max: settings.poolMax,
      idleTimeoutMillis: 30_000,
    },
    acquireConnectionTimeout: 10_000,
  });
  if (settings.transactionPooled) transactionPooled.add(knex);
  return knex;
}

/** A migration compiled into the service: no filesystem scanning, same in tests and images. */
export interface Migration {
  /** The file's name, `YYYYMMDDHHMMSS_snake_case`; the order of migrations is by this name. */
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

class StaticMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: readonly Migration[]) {
    const names = migrations.map((m) => m.name);
    const sorted = [...names].sort();
    if (names.some((name, i) => name !== sorted[i])) {
      throw new Error(`migrations must be listed in name order: ${names.join(", ")}`);
    }
    if (new Set(names).size !== names.length) throw new Error("duplicate migration names");
  }
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve([...this.migrations]);
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: migration.up, down: migration.down });
  }
}

const MIGRATION_TABLE = "knex_migrations";

/** Applies every pending migration; safe to run from several replicas at once (knex locks). */
export async function migrateLatest(knex: Knex, migrations: readonly Migration[]): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({
    migrationSource: new StaticMigrationSource(migrations),
    tableName: MIGRATION_TABLE,
  })) as [number, string[]];
  return applied;
}

/** Reverts every applied migration, newest first. Used by tests and by `reset` tooling. */
export async function migrateRollbackAll(knex: Knex, migrations: readonly Migration[]): Promise<string[]> {
  const [, reverted] = (await knex.migrate.rollback(
    { migrationSource: new StaticMigrationSource(migrations), tableName: MIGRATION_TABLE },
    true,
  )) as [number, string[]];
  return reverted;
}

interface TarnPool {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

const UP_PROBE_TIMEOUT_MS = 1_000;

/**
 * Database metrics for every pool added, read at scrape time where they are state:
 * `db_pool_connections{pool, state}` (used, free, pending acquires), `db_pool_max_connections`,
 * `db_up` (a `SELECT 1` within a second: 0 means the database is unavailable to this service),
 * and `db_query_duration_seconds{pool}` for every query. A pool with waiters is the first sign
 * of a slow or failing database.
 */
export function createPoolMetrics(registry: Registry): { add(pool: string, knex: Knex): void } {
  const pools = new Map<string, Knex>();
  const tarn = (knex: Knex): TarnPool | undefined => (knex.client as { pool?: TarnPool }).pool;
  new Gauge({
    name: "db_pool_connections",
    help: "Database pool connections by pool and state (used, free, pending)",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      for (const [name, knex] of pools) {
        const pool = tarn(knex);
        if (!pool) continue;
        this.set({ pool: name, state: "used" }, pool.numUsed());
        this.set({ pool: name, state: "free" }, pool.numFree());
        this.set({ pool: name, state: "pending" }, pool.numPendingAcquires() + pool.numPendingCreates());
      }
    },
  });
  new Gauge({
    name: "db_pool_max_connections",
    help: "Configured maximum size of each database pool",
    labelNames: ["pool"],
    registers: [registry],
    collect() {
      for (const [name, knex] of pools) {
        const pool = tarn(knex);
        if (pool) this.set({ pool: name }, pool.max);
      }
    },
  });
  new Gauge({
    name: "db_up",
    help: "1 when the database answered SELECT 1 within a second at scrape time, else 0",
    labelNames: ["pool"],
    registers: [registry],
    async collect() {
      await Promise.all(
        [...pools].map(async ([name, knex]) => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), UP_PROBE_TIMEOUT_MS)));
          const probe = knex.raw("SELECT 1").then(
            () => true,
            () => false,
          );
          const up = await Promise.race([probe, timeout]);
          clearTimeout(timer);
          this.set({ pool: name }, up ? 1 : 0);
        }),
      );
    },
  });
  const queryDuration = new Histogram({
    name: "db_query_duration_seconds",
    help: "Database query latency, from send to response or error",
    labelNames: ["pool", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return {
    add: (name, knex) => {
      pools.set(name, knex);
      const started = new Map<string, bigint>();
      const finish = (outcome: string) => (_: unknown, query: { __knexQueryUid?: string }) => {
        const uid = query.__knexQueryUid;
        const start = uid ? started.get(uid) : undefined;
        if (!uid || start === undefined) return;
        started.delete(uid);
        queryDuration.observe({ pool: name, outcome }, Number(process.hrtime.bigint() - start) / 1e9);
      };
      knex.on("query", (query: { __knexQueryUid?: string }) => {
        if (query.__knexQueryUid) started.set(query.__knexQueryUid, process.hrtime.bigint());
      });
      knex.on("query-response", finish("ok"));
      knex.on("query-error", (err: unknown, query: { __knexQueryUid?: string }) => finish("error")(err, query));
    },
  };
}

/** Pool settings from a service's validated database configuration. */
export function databaseSettingsFrom(
  config: DatabaseConfig,
  target: { database: string; applicationName: string; host?: string; port?: number },
): DatabaseSettings {
  return {
    host: target.host ?? config.PGHOST,
    port: target.port ?? config.PGPORT,
    user: config.PGUSER,
    password: config.PGPASSWORD,
    database: target.database,
    poolMin: config.DB_POOL_MIN,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: target.applicationName,
  };
}

/**
 * A service's own database, ready to serve: the pool (with metrics, closed in the lifecycle's
 * storage stage) and every migration applied.
 */
export async function openServiceDatabase(options: {
  config: DatabaseConfig;
  database: string;
  /** Pool label in metrics and `application_name` in pg_stat_activity, e.g. "doctor". */
  name: string;
  migrations: readonly Migration[];
  lifecycle: Lifecycle;
  registry: Registry;
  logger: Logger;
}): Promise<Knex> {
  const db = createDatabase(databaseSettingsFrom(options.config, { database: options.database, applicationName: options.name }));
  createPoolMetrics(options.registry).add(options.name, db);
  options.lifecycle.onShutdown("database", "storage", () => db.destroy());
  const applied = await migrateLatest(db, options.migrations);
  options.logger.info({ applied }, "migrations applied");
  return db;
}
