import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseConfig } from "@clinic/platform/config";
import { createDatabase } from "@clinic/platform/db";
import { createLogger } from "@clinic/platform/logging";
import { createRedis } from "@clinic/platform/redis";
import { Registry } from "prom-client";
import { AuthService, authSettingsFrom } from "./auth";
import { SignInThrottle } from "./auth/sign-in-throttle";
import { createBackends } from "./backends";
import { createLiveAvailability } from "./live/create-live-availability";
import { WEB_CLIENT_OFF, configSchema } from "./config";
import { createRateLimiter } from "./rate-limit";
import { buildServer } from "./http-server";

/**
 * The OpenAPI document exactly as `/openapi.json` serves it, without a running edge: the server is
 * built from the same code with clients that never connect (gRPC channels, the database pool and
 * Redis all connect lazily, building the route table calls none of them, and no event feed runs). The web client's
 * build generates its API types from this, so an API change that breaks the client breaks the build.
 */
export async function openApiDocument(): Promise<unknown> {
  // Addresses nobody dials: only the route table is built.
  const config = parseConfig(configSchema, {
    PGHOST: "127.0.0.1",
    PGPORT: "1",
    PGUSER: "openapi",
    PGPASSWORD: "unused",
    REDIS_URL: "redis://127.0.0.1:1",
    KAFKA_BROKERS: "127.0.0.1:1",
    LOG_LEVEL: "error",
  });
  const logger = createLogger({ service: "edge", level: config.LOG_LEVEL });
  const registry = new Registry();
  const backends = createBackends(config);
  const db = createDatabase({
    host: config.PGHOST,
    port: config.PGPORT,
    user: config.PGUSER,
    password: config.PGPASSWORD,
    database: config.PGDATABASE,
    poolMin: 0,
    poolMax: 1,
    statementTimeoutMs: 1_000,
    applicationName: "edge-openapi",
  });
  const redis = createRedis(config.REDIS_URL, logger);
  try {
    const auth = new AuthService(db, authSettingsFrom(config));
    const limiter = createRateLimiter({
      redis,
      keyPrefix: "",
      policies: {
        flood: { limit: config.RATE_LIMIT_FLOOD_PER_SECOND, windowSeconds: 1 },
        anonymous: { limit: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE, windowSeconds: 60 },
        account: { limit: config.RATE_LIMIT_ACCOUNT_PER_MINUTE, windowSeconds: 60 },
      },
      registry,
      logger,
    });
    const signInThrottle = new SignInThrottle({ redis, keyPrefix: "", maxFailures: 1, windowSeconds: 1, registry, logger });
    const http = await buildServer({
      config: { ...config, WEB_DIR: WEB_CLIENT_OFF },
      logger,
      backends,
      registry,
      state: { draining: false, closing: false },
      auth,
      limiter,
      signInThrottle,
      live: createLiveAvailability(config, backends, registry, logger),
    });
    const document = http.swagger();
    await http.close();
    return document;
  } finally {
    backends.close();
    redis.disconnect();
    await db.destroy();
  }
}

// `node dist/src/openapi-document.js <file>` writes the document (the web client's build runs this).
if (require.main === module) {
  const [file] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node openapi-document.js <output.json>\n");
    process.exit(2);
  }
  openApiDocument().then(
    (document) => {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
