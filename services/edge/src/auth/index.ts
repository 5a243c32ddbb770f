import { openServiceDatabase, type Lifecycle, type Logger } from "@clinic/platform";
import type { Registry } from "prom-client";
import { migrations } from "../../migrations";
import type { EdgeConfig } from "../config";
import { ensureBootstrapAdmin } from "./accounts";
import { ensureActiveKey } from "./keys";
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
  if (config.BOOTSTRAP_ADMIN_EMAIL !== undefined && config.BOOTSTRAP_ADMIN_PASSWORD !== undefined) {
    const outcome = await ensureBootstrapAdmin(db, config.BOOTSTRAP_ADMIN_EMAIL, config.BOOTSTRAP_ADMIN_PASSWORD);
    if (outcome === "created") logger.info("bootstrap admin account created");
  }
  return new AuthService(db, authSettingsFrom(config));
}
