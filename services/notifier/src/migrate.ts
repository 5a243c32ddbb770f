// The notifier service's migrations alone, then exit: the chart's init container (node dist/src/migrate.js).
import { runOwnDatabaseMigrationsMain } from "@clinic/platform/service";
import { migrations } from "../migrations";
import { loadConfig } from "./config";

runOwnDatabaseMigrationsMain("notifier", loadConfig(), migrations);
