import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { AUTHORIZATION_KEY, SIGNING_ALGORITHM, signAccessToken, type Role } from "@clinic/platform/auth";
import * as grpc from "@grpc/grpc-js";
import { exportJWK, generateKeyPair } from "jose";

export interface Identity {
  role: Role;
  /** Defaults to a fresh id. */
  accountId?: string;
  /** Required for doctors. */
  doctorId?: string;
}

export interface SignOptions {
  expiresInSeconds?: number;
  audience?: string;
  issuer?: string;
}

/**
 * Stands in for the edge as the token issuer when a service is tested on its own: a real ES256
 * key, its JWKS served over HTTP (what services fetch in production), and tokens minted for any
 * identity. The same issuer and audience defaults as the edge.
 */
export interface TestIssuer {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Settings a service under test needs to verify this issuer's tokens. */
  env: { AUTH_JWKS_URL: string; JWT_ISSUER: string; JWT_AUDIENCE: string };
  token(identity: Identity, options?: SignOptions): Promise<string>;
  /** `authorization` metadata for a call made as `identity`. */
  metadata(identity: Identity): Promise<grpc.Metadata>;
  /** A client interceptor that sends every call as `identity` (for test clients). */
  interceptor(identity: Identity): grpc.Interceptor;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: "sig" }] });
  const server = http.createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  const issuer = "clinic-edge";
  const audience = "clinic-api";

  const token = (identity: Identity, options: SignOptions = {}) =>
    signAccessToken(
      { accountId: identity.accountId ?? randomUUID(), role: identity.role, doctorId: identity.doctorId ?? randomUUID() },
      {
        key: privateKey,
        kid,
        issuer: options.issuer ?? issuer,
        audience: options.audience ?? audience,
        ttlSeconds: options.expiresInSeconds ?? 3600,
      },
    );

  const metadata = async (identity: Identity) => {
    const md = new grpc.Metadata();
    md.set(AUTHORIZATION_KEY, `Bearer ${await token(identity)}`);
    return md;
  };

  return {
    jwksUrl,
    issuer,
    audience,
    env: { AUTH_JWKS_URL: jwksUrl, JWT_ISSUER: issuer, JWT_AUDIENCE: audience },
    token,
    metadata,
    // Signed once, up front: the interceptor itself must be synchronous.
    interceptor: (identity) => bearerInterceptor(token(identity)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Services keep their JWKS connections alive; waiting for them to idle out is pointless.
        server.closeAllConnections();
      }),
  };
}

/**
 * A client interceptor that sends every call with `Bearer <token>`, once the token is there (a
 * token that cannot be had leaves the calls anonymous).
 */
export function bearerInterceptor(token: Promise<string>): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(md, listener, next) {
        token.then(
          (t) => {
            md.set(AUTHORIZATION_KEY, `Bearer ${t}`);
            next(md, listener);
          },
          () => next(md, listener),
        );
      },
    });
}
