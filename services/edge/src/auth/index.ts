import { openServiceDatabase, type Knex } from "@clinic/platform/db";
import type { Logger } from "@clinic/platform/logging";
import type { Lifecycle } from "@clinic/platform/service";
import type { Registry } from "prom-client";
import { migrations } from "../../migrations";
import type { EdgeConfig } from "../config";
import { ensureBootstrapAdmin } from "./accounts";
import { ensureActiveKey, rotateKeysIfOlderThan } from "./keys";
import { AuthService, type AuthSettings } from "./service";

export { AuthService } from "./service";

export const authSettingsFrom = (config: EdgeConfig): AuthSettings => ({
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
});

/**
 * Accounts at start: the edge database opened and migrated, a signing key ready, and the
 * bootstrap admin created if configured and no admin exists.
 */
export async function startAuth(options: {
  config: EdgeConfig;
  lifecycle: Lifecycle;
  registry: Registry;
  logger: Logger;
}): Promise<AuthService> {
  const { config, logger } = options;
  const db = await openServiceDatabase({
    config,
    database: config.PGDATABASE,
    name: "edge",
    migrations,
    lifecycle: options.lifecycle,
    registry: options.registry,
    logger,
  });
  const kid = await ensureActiveKey(db);
  logger.info({ kid }, "signing key ready");
  if (config.SIGNING_KEY_ROTATION_DAYS > 0) scheduleKeyRotation(db, config.SIGNING_KEY_ROTATION_DAYS, options.lifecycle, logger);
  if (config.BOOTSTRAP_ADMIN_EMAIL !== undefined && config.BOOTSTRAP_ADMIN_PASSWORD !== undefined) {
    const outcome = await ensureBootstrapAdmin(db, config.BOOTSTRAP_ADMIN_EMAIL, config.BOOTSTRAP_ADMIN_PASSWORD);
    if (outcome === "created") logger.info("bootstrap admin account created");
  }
  return new AuthService(db, authSettingsFrom(config));
}

const ROTATION_CHECK_INTERVAL_MS = 60 * 60 * 1000;

/** Rotates the signing key once it is `days` old: checked now and hourly. */
function scheduleKeyRotation(db: Knex, days: number, lifecycle: Lifecycle, logger: Logger): void {
  const check = async () => {
    try {
      const rotated = await rotateKeysIfOlderThan(db, days * 86_400);
      if (rotated) logger.info({ kid: rotated.kid, retired: rotated.retired }, "signing key rotated (scheduled)");
    } catch (err) {
      // The current key keeps signing; the next check tries again.
      logger.warn({ err }, "scheduled signing-key rotation failed");
    }
  };
  void check();
  const timer = setInterval(() => void check(), ROTATION_CHECK_INTERVAL_MS);
  timer.unref();
  lifecycle.onShutdown("signing-key rotation", "workers", async () => clearInterval(timer));
}
