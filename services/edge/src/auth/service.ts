import { randomUUID } from "node:crypto";
import { SIGNING_ALGORITHM, verifyAccessToken, type Knex, type VerifyResult } from "@clinic/platform";
import { SignJWT } from "jose";
import { createAccount, findAccount, findAccountByEmail, type AccountRow } from "./accounts";
import { KeyStore, type PublicKey } from "./keys";
import { dummyPasswordHash, verifyPassword } from "./password";
import { issueRefreshToken, revokeFamilyOf, rotateRefreshToken, type RotateResult } from "./refresh-tokens";

export interface AuthSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export interface TokenPair {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  refreshToken: string;
}

export type TokenFailure = { ok: false; reason: "invalid_credentials" } | Extract<RotateResult, { ok: false }>;

/** Accounts and tokens over the edge's database; HTTP-free so routes and the CLI share it. */
export class AuthService {
  readonly keys: KeyStore;

  constructor(
    readonly db: Knex,
    readonly settings: AuthSettings,
  ) {
    this.keys = new KeyStore(db, settings.accessTokenTtlSeconds);
  }

  registerPatient(email: string, password: string): Promise<AccountRow> {
    return createAccount(this.db, { email, password, role: "patient" });
  }

  /** Same work and the same answer for an unknown e-mail as for a wrong password. */
  async signIn(email: string, password: string): Promise<{ ok: true; tokens: TokenPair } | TokenFailure> {
    const account = await findAccountByEmail(this.db, email);
    const matches = await verifyPassword(password, account?.password_hash ?? (await dummyPasswordHash()));
    if (!account || !matches) return { ok: false, reason: "invalid_credentials" };
    const refreshToken = await issueRefreshToken(this.db, account.id, this.settings.refreshTokenTtlSeconds);
    return { ok: true, tokens: await this.pair(account, refreshToken) };
  }

  async refresh(token: string): Promise<{ ok: true; tokens: TokenPair } | TokenFailure> {
    const rotated = await rotateRefreshToken(this.db, token, this.settings.refreshTokenTtlSeconds);
    if (!rotated.ok) return rotated;
    const account = await findAccount(this.db, rotated.accountId);
    if (!account) return { ok: false, reason: "revoked" };
    return { ok: true, tokens: await this.pair(account, rotated.refreshToken) };
  }

  logout(refreshToken: string): Promise<boolean> {
    return revokeFamilyOf(this.db, refreshToken);
  }

  async issueAccessToken(account: Pick<AccountRow, "id" | "role" | "doctor_id">): Promise<string> {
    const { kid, key } = await this.keys.signingKey();
    return new SignJWT({ role: account.role, ...(account.role === "doctor" ? { doctor_id: account.doctor_id } : {}) })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: "JWT" })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(account.id)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.accessTokenTtlSeconds}s`)
      .setJti(randomUUID())
      .sign(key);
  }

  /** Checks an access token against this edge's keys, issuer and audience. */
  verifyAccessToken(token: string): Promise<VerifyResult> {
    return verifyAccessToken(token, {
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      keyFor: (kid) => this.keys.verificationKey(kid),
    });
  }

  publicKeys(): Promise<PublicKey[]> {
    return this.keys.publicKeys();
  }

  private async pair(account: AccountRow, refreshToken: string): Promise<TokenPair> {
    return {
      accessToken: await this.issueAccessToken(account),
      tokenType: "Bearer",
      expiresIn: this.settings.accessTokenTtlSeconds,
      refreshToken,
    };
  }
}
