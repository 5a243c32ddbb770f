import { openServiceDatabase, type Lifecycle, type Logger } from "@clinic/platform";
import type { Registry } from "prom-client";
import { migrations } from "../../migrations";
import { edgeDatabaseConfig, type EdgeConfig } from "../config";
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
 * bootstrap admin created if configured and no admin exists. Undefined when the configuration
 * has no database (accounts off).
 */
export async function startAuth(options: {
  config: EdgeConfig;
  lifecycle: Lifecycle;
  registry: Registry;
  logger: Logger;
}): Promise<AuthService | undefined> {
  const { config, logger } = options;
  const database = edgeDatabaseConfig(config);
  if (!database) {
    logger.warn("accounts are off: PGUSER/PGPASSWORD are not set, so /api/v1/auth and the JWKS are not served");
    return undefined;
  }
  const db = await openServiceDatabase({
    config: database,
    database: database.PGDATABASE,
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
