import { randomUUID } from "node:crypto";
import { SIGNING_ALGORITHM, signAccessToken, type Role } from "@clinic/platform/auth";
import { decodeJwt, importJWK, type JWK, type KeyLike } from "jose";
import type { PgSettings } from "./config";
import { openPool } from "./databases";
import type { EdgeTarget } from "./modes/edge";
import type { Patient } from "./modes/target";

/**
 * Access tokens for the harness.
 *
 * The admin who seeds doctors signs in like any client (`POST /auth/token`). The thousands of
 * simulated patients (and the doctors who open their own schedules) get tokens minted here with
 * the edge's active signing key, read from the edge's database: registering them would cost
 * each one an scrypt hash on the edge (slow by design, the point of a password hash), and signing
 * them in another, minutes of edge CPU before a run and nothing to do with the booking path.
 * Minting happens before the timed phase, so its cost is not measured either.
 *
 * A minted token is what `AuthService.issueAccessToken` issues after a sign-in: ES256, the
 * active key's kid, the edge's issuer and audience (read from the admin's token, so a deployment
 * that changed them still works), `sub`, `role`, `doctor_id` for doctors, and a `sid` of its own,
 * so the edge checks the sign-in's revocation status for it as it does for a real patient's.
 * The accounts themselves do not exist: nothing on the booking path looks one up.
 */

/** What the edge puts in the tokens it issues, read from a token it issued. */
export interface TokenSettings {
  issuer: string;
  audience: string;
  /** Seconds from `iat` to `exp`. */
  lifetimeSeconds: number;
}

export interface AdminSession {
  /** `Bearer <token>` */
  authorization: string;
  accountId: string;
  /** To log the sign-in out when the harness is done. */
  refreshToken: string;
  settings: TokenSettings;
}

/** Minted tokens must outlive the longest benchmark, whatever lifetime the edge gives its own. */
const MIN_LIFETIME_SECONDS = 4 * 60 * 60;

/** Signs the admin in and reads the edge's token settings from the access token it answers. */
export async function signInAdmin(edge: EdgeTarget, email: string, password: string): Promise<AdminSession> {
  const pair = await edge.request<{ accessToken: string; refreshToken: string }>("POST", "/auth/token", { email, password }, undefined);
  const claims = decodeJwt(pair.accessToken);
  const audience = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (claims.role !== "admin") throw new Error(`${email} signed in, but its role is ${String(claims.role)}, not admin`);
  if (!claims.iss || !audience || !claims.sub || claims.exp === undefined || claims.iat === undefined) {
    throw new Error("the edge's access token lacks iss, aud, sub, iat or exp");
  }
  return {
    authorization: `Bearer ${pair.accessToken}`,
    accountId: claims.sub,
    refreshToken: pair.refreshToken,
    settings: { issuer: claims.iss, audience, lifetimeSeconds: claims.exp - claims.iat },
  };
}

/** Revokes the admin's sign-in (its refresh token); best effort, the run's results do not depend on it. */
export async function signOut(edge: EdgeTarget, session: AdminSession): Promise<void> {
  await edge.call("POST", "/auth/logout", { refreshToken: session.refreshToken }, undefined);
}

export class TokenMinter {
  private constructor(
    readonly kid: string,
    private readonly key: KeyLike | Uint8Array,
    readonly settings: TokenSettings,
  ) {}

  /** The key the edge signs with: the newest active one of `signing_keys` (as `KeyStore.signingKey`). */
  static async fromEdgeDatabase(pg: PgSettings, database: string, settings: TokenSettings): Promise<TokenMinter> {
    const pool = openPool(pg, database, 1, "loadtest-tokens");
    try {
      const { rows } = await pool.query<{ kid: string; algorithm: string; private_jwk: JWK }>(
        "SELECT kid, algorithm, private_jwk FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1",
      );
      const row = rows[0];
      if (!row) throw new Error(`no active signing key in ${database}.signing_keys (the edge creates one when it starts)`);
      if (row.algorithm !== SIGNING_ALGORITHM) throw new Error(`the edge's active key is ${row.algorithm}, expected ${SIGNING_ALGORITHM}`);
      return new TokenMinter(row.kid, await importJWK(row.private_jwk, SIGNING_ALGORITHM), settings);
    } finally {
      await pool.end();
    }
  }

  /** An access token for account `subject`, as the edge issues one after a sign-in. */
  mint(subject: string, role: Exclude<Role, "admin">, doctorId?: string): Promise<string> {
    return signAccessToken(
      { accountId: subject, role, ...(doctorId ? { doctorId } : {}), sid: randomUUID() },
      {
        key: this.key,
        kid: this.kid,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        ttlSeconds: Math.max(this.settings.lifetimeSeconds, MIN_LIFETIME_SECONDS),
      },
    );
  }

  /** `count` patients, each its own account id and token. */
  async patients(count: number): Promise<Patient[]> {
    const out: Patient[] = [];
    for (let index = 0; index < count; index++) {
      const id = randomUUID();
      out.push({
        index,
        id,
        name: "Load Test",
        contact: "loadtest@example.org",
        authorization: `Bearer ${await this.mint(id, "patient")}`,
        asked: new Set(),
      });
    }
    return out;
  }

  /** `Bearer <token>` of an account acting for this doctor. */
  async doctor(doctorId: string): Promise<string> {
    return `Bearer ${await this.mint(randomUUID(), "doctor", doctorId)}`;
  }
}

/**
 * One request as a minted patient before anything is measured: its own bookings, which the edge
 * checks (token and path) and the booking service checks again (the forwarded token against the
 * edge's JWKS). A refusal here means the tokens are wrong, not that the platform is slow.
 */
export async function checkPatientToken(edge: EdgeTarget, patient: Patient): Promise<{ accountPolicy?: string }> {
  const answer = await edge.call("GET", `/patients/${patient.id}/bookings?pageSize=1`, undefined, patient.authorization);
  if (answer.status !== 200) {
    throw new Error(
      `a minted patient token was refused (GET /patients/{id}/bookings: ${answer.status} ${JSON.stringify(answer.body)}); ` +
        "is CLINIC_DB_EDGE the database of the edge at EDGE_URL?",
    );
  }
  const policy = answer.headers["ratelimit-policy"];
  return typeof policy === "string" ? { accountPolicy: policy } : {};
}
