// The edge's migrations (accounts, tokens, audit events) alone, then exit: the chart's init
// container (node dist/src/migrate.js).
import { runOwnDatabaseMigrationsMain } from "@clinic/platform/service";
import { migrations } from "../migrations";
import { loadConfig } from "./config";

runOwnDatabaseMigrationsMain("edge", loadConfig(), migrations);
