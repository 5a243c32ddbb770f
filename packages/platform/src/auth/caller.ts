import * as grpc from "@grpc/grpc-js";
import { createRemoteJWKSet, errors } from "jose";
import { createTokenVerifier, type AccessClaims, type Role, type VerifierOptions } from "./access-token";
import { DomainError } from "../errors/errors";

/**
 * Who a gRPC call acts for. The edge forwards the patient's or doctor's own access token in the
 * `authorization` metadata, and every service verifies it again (signature, issuer, audience,
 * expiry) against the edge's published keys: a call that bypasses the edge cannot claim to be
 * somebody else, because it cannot sign for them.
 */
export type Caller = AnonymousCaller | AccountCaller;

export interface AnonymousCaller {
  kind: "anonymous";
}

export interface AccountCaller {
  kind: "account";
  accountId: string;
  role: Role;
  /** Set exactly for doctors: the doctor record the account acts for. */
  doctorId?: string;
  /** The metadata value as received, forwarded unchanged on calls made for this caller. */
  authorization: string;
}

export const ANONYMOUS: AnonymousCaller = { kind: "anonymous" };

/** The gRPC metadata key (HTTP/2 header) carrying `Bearer <access token>`. */
export const AUTHORIZATION_KEY = "authorization";

export interface CallerResolver {
  /** The verified caller, anonymous when no token is sent; throws UNAUTHENTICATED for a bad token. */
  resolve(metadata: grpc.Metadata): Promise<Caller>;
}

export const unauthenticated = (reason: string, message: string): DomainError =>
  new DomainError("unauthenticated", reason, message);

export const forbidden = (message: string): DomainError => new DomainError("permission_denied", "FORBIDDEN", message);

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/** The token of an `Authorization: Bearer …` value; undefined when it is not one. */
export function bearerToken(value: string): string | undefined {
  return BEARER.exec(value)?.[1];
}

export const callerFromClaims = (claims: AccessClaims, authorization: string): AccountCaller => ({
  kind: "account",
  accountId: claims.sub,
  role: claims.role,
  ...(claims.doctorId ? { doctorId: claims.doctorId } : {}),
  authorization,
});

/** Resolves callers from tokens checked with `keyFor`; shared by the JWKS resolver and tests. */
export function createCallerResolver(options: VerifierOptions): CallerResolver {
  const verifier = createTokenVerifier(options);
  return {
    async resolve(metadata) {
      const values = metadata.get(AUTHORIZATION_KEY);
      if (values.length === 0) return ANONYMOUS;
      const authorization = values.length === 1 ? String(values[0]) : "";
      const token = bearerToken(authorization);
      if (!token) throw unauthenticated("INVALID_TOKEN", "authorization must be one `Bearer <access token>`");
      const result = await verifier.verify(token);
      if (!result.ok) {
        throw unauthenticated(result.failure === "expired" ? "TOKEN_EXPIRED" : "INVALID_TOKEN", result.message);
      }
      return callerFromClaims(result.claims, authorization);
    },
  };
}

export interface JwksCallerOptions {
  /** The edge's `/.well-known/jwks.json`. */
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/**
 * Verifies forwarded tokens against the edge's JWKS. Keys are cached and fetched again when a
 * token names a kid not seen yet (a rotation), at most every few seconds. When the JWKS cannot be
 * fetched the call fails UNAVAILABLE (retryable), never as if the token were bad.
 */
export function createJwksCallerResolver(options: JwksCallerOptions): CallerResolver {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: 5_000,
    // Keys rotate monthly and an unknown kid triggers a fetch anyway: a long cache keeps calls
    // verifiable through a short edge outage.
    cacheMaxAge: 60 * 60_000,
    timeoutDuration: 2_000,
  });
  return createCallerResolver({
    issuer: options.issuer,
    audience: options.audience,
    keyFor: async (kid) => {
      try {
        return await jwks({ alg: "ES256", kid });
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return undefined;
        throw new DomainError("unavailable", "AUTH_KEYS_UNAVAILABLE", "the token's signing keys cannot be fetched now; retry");
      }
    },
  });
}

/** The caller as an account, or UNAUTHENTICATED. */
export function requireAccount(caller: Caller): AccountCaller {
  if (caller.kind !== "account") throw unauthenticated("AUTHENTICATION_REQUIRED", "this call needs an access token");
  return caller;
}

/** The caller as an account with one of `roles`, else UNAUTHENTICATED or PERMISSION_DENIED. */
export function requireRole(caller: Caller, ...roles: Role[]): AccountCaller {
  const account = requireAccount(caller);
  if (!roles.includes(account.role)) throw forbidden(`this call is for ${roles.join(" or ")} accounts`);
  return account;
}

export const isAdmin = (caller: Caller): boolean => caller.kind === "account" && caller.role === "admin";

/** Admins, and the doctor whose record it is. */
export function requireDoctorOrAdmin(caller: Caller, doctorId: string): AccountCaller {
  const account = requireRole(caller, "doctor", "admin");
  if (account.role === "doctor" && account.doctorId !== doctorId) {
    throw forbidden("doctors manage their own slots and bookings only");
  }
  return account;
}

/**
 * Admins, and the account that is this patient: a patient's id is their account id, so nobody
 * else can book, confirm, cancel or list in their name.
 */
export function requirePatientOrAdmin(caller: Caller, patientId: string): AccountCaller {
  const account = requireAccount(caller);
  if (account.role !== "admin" && account.accountId !== patientId) {
    throw forbidden("patients act on their own bookings only");
  }
  return account;
}

/** Metadata for a call made on behalf of `caller` (its token travels on unchanged). */
export function callerMetadata(caller: Caller): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (caller.kind === "account") metadata.set(AUTHORIZATION_KEY, caller.authorization);
  return metadata;
}
