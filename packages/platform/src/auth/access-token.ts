import { createHash, randomUUID } from "node:crypto";
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type KeyLike } from "jose";

/** The only algorithm access tokens are signed with (ECDSA P-256). */
export const SIGNING_ALGORITHM = "ES256";

export const ROLES = ["patient", "doctor", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What a verified access token says about its bearer. */
export interface AccessClaims {
  /** The account id. */
  sub: string;
  role: Role;
  /** Set exactly when the role is doctor. */
  doctorId?: string;
  /** The sign-in (refresh-token family) the token belongs to; logout revokes it. */
  sid?: string;
  jti: string;
  iat: number;
  exp: number;
}

export type VerifyFailure =
  | "malformed"
  | "alg_none"
  | "unsupported_alg"
  | "unknown_kid"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "invalid_claims";

export type VerifyResult = { ok: true; claims: AccessClaims } | { ok: false; failure: VerifyFailure; message: string };

export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** The key that verifies tokens carrying this kid; undefined when none does (any longer). */
  keyFor(kid: string): Promise<KeyLike | Uint8Array | undefined>;
  /** Accepted clock difference between the signer and this process. */
  clockToleranceSeconds?: number;
}

const fail = (failure: VerifyFailure, message: string): VerifyResult => ({ ok: false, failure, message });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks an access token: ES256 only (never `none`, never an HMAC that could be keyed with a
 * public key), a kid the edge still verifies, signature, `iss`, `aud`, `exp`, and the claims the
 * edge relies on. Never throws for a bad token: the failure says why, for logs and metrics;
 * clients should only be told 401.
 */
export async function verifyAccessToken(token: string, options: VerifierOptions): Promise<VerifyResult> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return fail("malformed", "not a compact JWS");
  }
  if (token.split(".").length !== 3) return fail("malformed", "not a compact JWS");
  if (typeof header.alg !== "string" || header.alg.toLowerCase() === "none") return fail("alg_none", "unsigned token");
  if (header.alg !== SIGNING_ALGORITHM) return fail("unsupported_alg", `algorithm ${header.alg} is not accepted`);
  if (typeof header.kid !== "string" || header.kid === "") return fail("unknown_kid", "the token names no key");
  const key = await options.keyFor(header.kid);
  if (!key) return fail("unknown_kid", "the token's key is unknown or no longer verifies");

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALGORITHM],
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["sub", "exp", "iat", "jti"],
      clockTolerance: options.clockToleranceSeconds ?? 0,
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) return fail("expired", "the token has expired");
    if (err instanceof errors.JWSSignatureVerificationFailed) return fail("bad_signature", "the signature does not verify");
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === "iss") return fail("wrong_issuer", "the token was issued by someone else");
      if (err.claim === "aud") return fail("wrong_audience", "the token is meant for another audience");
      if (err.claim === "nbf" || (err.claim === "iat" && err.reason === "check_failed")) {
        return fail("not_yet_valid", "the token is not valid yet");
      }
      return fail("invalid_claims", `claim ${err.claim} is invalid`);
    }
    if (err instanceof errors.JOSEAlgNotAllowed) return fail("unsupported_alg", "algorithm not accepted");
    return fail("malformed", "the token cannot be read");
  }

  const { sub, role, doctor_id: doctorId, sid, jti, iat, exp } = payload;
  if (typeof sub !== "string" || !UUID.test(sub)) return fail("invalid_claims", "sub must be an account id");
  if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) return fail("invalid_claims", "unknown role");
  if (sid !== undefined && (typeof sid !== "string" || !UUID.test(sid))) return fail("invalid_claims", "sid must be a session id");
  if ((role === "doctor") !== (typeof doctorId === "string" && UUID.test(doctorId))) {
    return fail("invalid_claims", "doctor_id must be set exactly for doctors");
  }
  return {
    ok: true,
    claims: {
      sub,
      role: role as Role,
      ...(role === "doctor" ? { doctorId: doctorId as string } : {}),
      ...(typeof sid === "string" ? { sid } : {}),
      jti: String(jti),
      iat: Number(iat),
      exp: Number(exp),
    },
  };
}

/** A token that verified: what it says, and the key (by identity) that verified it. */
interface VerifiedToken {
  claims: AccessClaims;
  kid: string;
  key: KeyLike | Uint8Array;
}

/**
 * `verifyAccessToken` that remembers the tokens it verified, by the SHA-256 of the token (the
 * bearer token itself is not kept), until they expire: a client sends the same token with every
 * request, and the signature check is most of a request's authentication cost. A remembered token
 * is taken again only while its kid still resolves to the very key that verified it (a retired or
 * rotated key sends it through the full check) and before its `exp`. At most `maxEntries` tokens
 * are remembered; the oldest are forgotten first. Failures are never remembered.
 */
export function createTokenVerifier(options: VerifierOptions, maxEntries = 20_000): TokenVerifier {
  const verified = new Map<string, VerifiedToken>();
  const toleranceMs = (options.clockToleranceSeconds ?? 0) * 1000;
  const verifier: TokenVerifier = {
    hits: 0,
    get remembered() {
      return verified.size;
    },
    async verify(token) {
      const digest = createHash("sha256").update(token).digest("base64url");
      const known = verified.get(digest);
      if (known) {
        if (known.claims.exp * 1000 + toleranceMs > Date.now() && (await options.keyFor(known.kid)) === known.key) {
          verifier.hits += 1;
          return { ok: true, claims: known.claims };
        }
        verified.delete(digest);
      }
      let kid: unknown;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        kid = undefined;
      }
      // The key first, then the check: the key remembered is the one this check used.
      const key = typeof kid === "string" && kid !== "" ? await options.keyFor(kid) : undefined;
      const result = await verifyAccessToken(token, key ? { ...options, keyFor: async () => key } : options);
      if (result.ok && key && typeof kid === "string") {
        if (verified.size >= maxEntries) verified.delete(verified.keys().next().value!);
        verified.set(digest, { claims: result.claims, kid, key });
      }
      return result;
    },
  };
  return verifier;
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifyResult>;
  /** Answers given from memory. */
  hits: number;
  /** Tokens remembered now. */
  readonly remembered: number;
}

/** Who an access token is for: its `sub`, `role`, `doctor_id` (doctors) and `sid` (the sign-in). */
export interface AccessTokenSubject {
  accountId: string;
  role: Role;
  /** Required for doctors, ignored otherwise. */
  doctorId?: string;
  sid?: string;
}

export interface SigningOptions {
  key: KeyLike | Uint8Array;
  kid: string;
  issuer: string;
  audience: string;
  /** Seconds from `iat` to `exp`. */
  ttlSeconds: number;
  /** Unix seconds; now by default. */
  issuedAt?: number;
}

/**
 * The one shape of an access token, as `verifyAccessToken` expects it: ES256 with a kid, `iss`,
 * `aud`, `sub`, `role`, `doctor_id` exactly for doctors, optional `sid`, `iat`, `exp`, `jti`.
 */
export function signAccessToken(subject: AccessTokenSubject, options: SigningOptions): Promise<string> {
  const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({
    role: subject.role,
    ...(subject.role === "doctor" ? { doctor_id: subject.doctorId } : {}),
    ...(subject.sid ? { sid: subject.sid } : {}),
  })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: options.kid, typ: "JWT" })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(subject.accountId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .setJti(randomUUID())
    .sign(options.key);
}
