import { createHash, randomBytes, randomUUID } from "node:crypto";
import { runPrepared, type Knex, type PreparedStatement } from "@clinic/platform/db";

interface RefreshTokenRow {
  id: string;
  family_id: string;
  account_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

/** Only the SHA-256 of a refresh token is stored: a database dump yields no usable tokens. */
const hashOf = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest();

async function insertToken(db: Knex, accountId: string, familyId: string, ttlSeconds: number): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await db("refresh_tokens").insert({
    family_id: familyId,
    account_id: accountId,
    token_hash: hashOf(token),
    expires_at: db.raw("now() + make_interval(secs => ?)", [ttlSeconds]),
  });
  return token;
}

/** A new family: one sign-in (its id is the `sid` of the access tokens issued with it). */
export async function issueRefreshToken(
  db: Knex,
  accountId: string,
  ttlSeconds: number,
): Promise<{ refreshToken: string; familyId: string }> {
  const familyId = randomUUID();
  return { refreshToken: await insertToken(db, accountId, familyId, ttlSeconds), familyId };
}

export type RotateResult =
  | { ok: true; accountId: string; familyId: string; refreshToken: string }
  | { ok: false; reason: "unknown" | "reused" | "revoked" | "expired"; familyId?: string };

/**
 * Exchanges a refresh token for the next one of its family. Each token works once: presenting
 * a used one means it leaked (or a client raced itself), so the whole family is revoked and
 * whoever holds the newest token must sign in again.
 */
export async function rotateRefreshToken(db: Knex, token: string, ttlSeconds: number): Promise<RotateResult> {
  return db.transaction(async (trx) => {
    const row = await trx<RefreshTokenRow>("refresh_tokens")
      .where("token_hash", hashOf(token))
      .forUpdate()
      .first("id", "family_id", "account_id", "used_at", "revoked_at", trx.raw("expires_at <= now() AS expired"));
    if (!row) return { ok: false, reason: "unknown" } as const;
    if (row.used_at) {
      await revokeFamilyIn(trx, row.family_id);
      return { ok: false, reason: "reused", familyId: row.family_id } as const;
    }
    if (row.revoked_at) return { ok: false, reason: "revoked" } as const;
    if ((row as unknown as { expired: boolean }).expired) return { ok: false, reason: "expired" } as const;
    await trx("refresh_tokens").where({ id: row.id }).update({ used_at: trx.fn.now() });
    const next = await insertToken(trx, row.account_id, row.family_id, ttlSeconds);
    return { ok: true, accountId: row.account_id, familyId: row.family_id, refreshToken: next };
  });
}

const revokeFamilyIn = (db: Knex, familyId: string) =>
  db("refresh_tokens").where({ family_id: familyId }).whereNull("revoked_at").update({ revoked_at: db.fn.now() });

/** Logout: the token's whole family stops working. Unknown tokens are ignored. */
export async function revokeFamilyOf(db: Knex, token: string): Promise<string | undefined> {
  const row = await db<RefreshTokenRow>("refresh_tokens").where("token_hash", hashOf(token)).first("family_id");
  if (!row) return undefined;
  await revokeFamilyIn(db, row.family_id);
  return row.family_id;
}

/** Whether a sign-in was revoked (logout, or a reused refresh token). */
export async function isFamilyRevoked(db: Knex, familyId: string): Promise<boolean> {
  // Prepared: asked for every request whose sign-in is not in the edge's short-lived cache.
  return (await runPrepared(db, FAMILY_REVOKED, [familyId])).length > 0;
}

const FAMILY_REVOKED: PreparedStatement = {
  name: "family_revoked",
  text: "SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL LIMIT 1",
  readOnly: true,
};
