/** @clinic/platform/db: PostgreSQL through knex: pools, compiled migrations, prepared statements, unavailability errors. */
export { commitOutcomeUnknown, databaseUnavailable, inTransaction, isDatabaseUnavailable } from "./database-errors";
export {
  createDatabase,
  createPoolMetrics,
  type DatabaseSettings,
  databaseSettingsFrom,
  isTransactionPooled,
  type Knex,
  migrateLatest,
  migrateRollbackAll,
  type Migration,
  openServiceDatabase,
} from "./database";
export { type PreparedStatement, runPrepared } from "./prepared-statement";
