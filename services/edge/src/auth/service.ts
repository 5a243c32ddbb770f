import { createTokenVerifier, signAccessToken, type TokenVerifier, type VerifyResult } from "@clinic/platform/auth";
import type { Knex } from "@clinic/platform/db";
import { createAccount, findAccount, findAccountByEmail, type AccountRow } from "./accounts";
import { KeyStore, type PublicKey } from "./keys";
import { dummyPasswordHash, verifyPassword } from "./password";
import { isFamilyRevoked, issueRefreshToken, revokeFamilyOf, rotateRefreshToken, type RotateResult } from "./refresh-tokens";
import { SessionStatusCache } from "./session-cache";

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

/** A verified access token, or why not; `revoked` when its sign-in was logged out. */
export type AuthenticateResult = VerifyResult | { ok: false; failure: "revoked"; message: string };

export type TokenFailure = { ok: false; reason: "invalid_credentials" } | Extract<RotateResult, { ok: false }>;

/** Accounts and tokens over the edge's database; HTTP-free so routes and the CLI share it. */
export class AuthService {
  readonly keys: KeyStore;
  private readonly sessions: SessionStatusCache;
  /** Remembers verified tokens by hash until they expire (createTokenVerifier). */
  private readonly verifier: TokenVerifier;

  constructor(
    readonly db: Knex,
    readonly settings: AuthSettings,
  ) {
    this.keys = new KeyStore(db, settings.accessTokenTtlSeconds);
    this.sessions = new SessionStatusCache((sid) => isFamilyRevoked(db, sid));
    this.verifier = createTokenVerifier({
      issuer: settings.issuer,
      audience: settings.audience,
      keyFor: (kid) => this.keys.verificationKey(kid),
    });
  }

  registerPatient(email: string, password: string): Promise<AccountRow> {
    return createAccount(this.db, { email, password, role: "patient" });
  }

  /** Doctor and admin accounts: made by an admin (or the CLI), never by registration. */
  createAccount(input: { email: string; password: string; role: "doctor" | "admin"; doctorId?: string }): Promise<AccountRow> {
    return createAccount(this.db, input);
  }

  /** Same work and the same answer for an unknown e-mail as for a wrong password. */
  async signIn(email: string, password: string): Promise<{ ok: true; tokens: TokenPair } | TokenFailure> {
    const account = await findAccountByEmail(this.db, email);
    const matches = await verifyPassword(password, account?.password_hash ?? (await dummyPasswordHash()));
    if (!account || !matches) return { ok: false, reason: "invalid_credentials" };
    const { refreshToken, familyId } = await issueRefreshToken(this.db, account.id, this.settings.refreshTokenTtlSeconds);
    return { ok: true, tokens: await this.pair(account, refreshToken, familyId) };
  }

  async refresh(token: string): Promise<{ ok: true; tokens: TokenPair } | TokenFailure> {
    const rotated = await rotateRefreshToken(this.db, token, this.settings.refreshTokenTtlSeconds);
    if (!rotated.ok) {
      // A reuse revoked the family in the database; this replica stops honouring it at once.
      if (rotated.reason === "reused" && rotated.familyId) this.sessions.markRevoked(rotated.familyId);
      return rotated;
    }
    const account = await findAccount(this.db, rotated.accountId);
    if (!account) return { ok: false, reason: "revoked" };
    return { ok: true, tokens: await this.pair(account, rotated.refreshToken, rotated.familyId) };
  }

  /** Revokes the refresh token's sign-in: its refresh tokens and the access tokens issued with them. */
  async logout(refreshToken: string): Promise<boolean> {
    const familyId = await revokeFamilyOf(this.db, refreshToken);
    if (familyId) this.sessions.markRevoked(familyId);
    return familyId !== undefined;
  }

  /** `sid` ties the access token to its sign-in, so logout revokes it too. */
  async issueAccessToken(account: Pick<AccountRow, "id" | "role" | "doctor_id">, sid?: string): Promise<string> {
    const { kid, key } = await this.keys.signingKey();
    return signAccessToken(
      { accountId: account.id, role: account.role, ...(account.doctor_id ? { doctorId: account.doctor_id } : {}), ...(sid ? { sid } : {}) },
      { key, kid, issuer: this.settings.issuer, audience: this.settings.audience, ttlSeconds: this.settings.accessTokenTtlSeconds },
    );
  }

  /** An access token as a request presents it: valid (verifyAccessToken) and its sign-in not revoked. */
  async authenticate(token: string): Promise<AuthenticateResult> {
    const result = await this.verifyAccessToken(token);
    if (result.ok && result.claims.sid && (await this.sessions.isRevoked(result.claims.sid))) {
      return { ok: false, failure: "revoked", message: "the token's sign-in was revoked" };
    }
    return result;
  }

  /** Checks an access token against this edge's keys, issuer and audience. */
  verifyAccessToken(token: string): Promise<VerifyResult> {
    return this.verifier.verify(token);
  }

  publicKeys(): Promise<PublicKey[]> {
    return this.keys.publicKeys();
  }

  private async pair(account: AccountRow, refreshToken: string, familyId: string): Promise<TokenPair> {
    return {
      accessToken: await this.issueAccessToken(account, familyId),
      tokenType: "Bearer",
      expiresIn: this.settings.accessTokenTtlSeconds,
      refreshToken,
    };
  }
}
