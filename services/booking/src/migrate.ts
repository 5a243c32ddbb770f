// Booking's migrations on every shard, then exit: the chart's init container (node
// dist/src/migrate.js). Each shard through its session address where BOOKING_SHARDS is a
// transaction pooler's, as the service migrates them itself (src/app.ts).
import { databaseSettingsFrom } from "@clinic/platform/db";
import { runMigrationsMain } from "@clinic/platform/service";
import { migrations } from "../migrations";
import { loadConfig } from "./config";
import { shardConnection } from "./shard-connection";

const config = loadConfig();
runMigrationsMain(
  "booking",
  config.LOG_LEVEL,
  () =>
    config.BOOKING_SHARDS.map((entry, index) => ({
      name: `shard ${index}`,
      settings: databaseSettingsFrom(config, { ...shardConnection(config, config.BOOKING_SHARD_SESSIONS[index] ?? entry), applicationName: `booking-shard-${index}` }),
    })),
  migrations,
);
