import knexFactory, { type Knex } from "knex";
import { types as pgTypes } from "pg";
import { Gauge, type Registry } from "prom-client";
import type { DatabaseConfig } from "./config";

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
}

/**
 * A knex instance over node-postgres. After a failover the address stays the same (HAProxy or
 * a Kubernetes Service in front of the primary), so a dead connection is simply discarded by the
 * pool and the next acquire dials the new primary.
 */
export function createDatabase(settings: DatabaseSettings): Knex {
  return knexFactory({
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
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/**
 * `db_pool_connections{pool, state}` for every pool added: used, free and waiting acquires, read
 * at scrape time. A pool with waiters is the first sign of a slow or failing database.
 */
export function createPoolMetrics(registry: Registry): { add(pool: string, knex: Knex): void } {
  const pools = new Map<string, Knex>();
  new Gauge({
    name: "db_pool_connections",
    help: "Database pool connections by pool and state (used, free, pending)",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      for (const [name, knex] of pools) {
        const pool = (knex.client as { pool?: TarnPool }).pool;
        if (!pool) continue;
        this.set({ pool: name, state: "used" }, pool.numUsed());
        this.set({ pool: name, state: "free" }, pool.numFree());
        this.set({ pool: name, state: "pending" }, pool.numPendingAcquires() + pool.numPendingCreates());
      }
    },
  });
  return { add: (name, knex) => void pools.set(name, knex) };
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
