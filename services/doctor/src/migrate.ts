// The doctor service's migrations alone, then exit: the chart's init container (node dist/src/migrate.js).
import { databaseSettingsFrom } from "@clinic/platform/db";
import { runMigrationsMain } from "@clinic/platform/service";
import { migrations } from "../migrations";
import { loadConfig } from "./config";

const config = loadConfig();
runMigrationsMain(
  "doctor",
  config.LOG_LEVEL,
  () => [{ name: config.PGDATABASE, settings: databaseSettingsFrom(config, { database: config.PGDATABASE, applicationName: "doctor" }) }],
  migrations,
);
