import type { DatabaseConfig } from "../config/shared-schemas";
import { createDatabase, databaseSettingsFrom, migrateLatest, type DatabaseSettings, type Migration } from "../db/database";
import { createLogger, type LoggerSettings } from "../logging/logger";
import { runMain } from "./lifecycle";

/** One database a service migrates: a label for the log and where it is. */
export interface MigrationTarget {
  name: string;
  settings: DatabaseSettings;
}

/**
 * The body of a service's `dist/src/migrate.js`: applies the service's migrations to each of its
 * databases, one connection each, then exits (0 when every database is current, 1 with the
 * error otherwise). The Helm chart runs it as an init container of every pod of the service, so
 * a failing migration stops the rollout at Init:Error with the cause in that container's log,
 * before any new code serves. The service's own migration at start stays: it then finds nothing
 * to do (knex's migration lock serialises replicas starting at once either way).
 */
export function runMigrationsMain(service: string, logLevel: LoggerSettings["level"], targets: () => readonly MigrationTarget[], migrations: readonly Migration[]): void {
  runMain(`${service} migrations`, async () => {
    const logger = createLogger({ service, level: logLevel });
    for (const target of targets()) {
      const db = createDatabase({ ...target.settings, poolMin: 0, poolMax: 1, applicationName: `${service}-migrate` });
      try {
        const applied = await migrateLatest(db, migrations);
        logger.info({ database: target.name, applied }, "migrations applied");
      } finally {
        await db.destroy();
      }
    }
  });
}

/** `runMigrationsMain` for a service with one database of its own (PGDATABASE). */
export function runOwnDatabaseMigrationsMain(
  service: string,
  config: DatabaseConfig & { LOG_LEVEL: LoggerSettings["level"]; PGDATABASE: string },
  migrations: readonly Migration[],
): void {
  runMigrationsMain(
    service,
    config.LOG_LEVEL,
    () => [{ name: config.PGDATABASE, settings: databaseSettingsFrom(config, { database: config.PGDATABASE, applicationName: service }) }],
    migrations,
  );
}
