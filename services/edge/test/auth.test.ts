import { parseConfig } from "@clinic/platform/config";
import { createScratchDatabase, type ScratchDatabase, startTestEdge, uniqueKeyPrefix } from "@clinic/test-stack";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import type { RunningEdge } from "../src/app";
import { rotateKeys } from "../src/auth/keys";
import { configSchema } from "../src/config";

/**
 * Accounts and tokens over real HTTP and a real (scratch) PostgreSQL. The gRPC backends are
 * unreachable: nothing here needs them.
 */

const JSON_TYPE = { "content-type": "application/json" };
const PASSWORD = "correct horse battery";

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

function startAuthEdge(database: string, extra: Record<string, string> = {}): Promise<RunningEdge> {
  return startTestEdge(database, {
    // This file registers many accounts from one address; limits have their own tests.
    RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_auth"),
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "100000",
    ...extra,
  });
}

function client(edge: RunningEdge) {
  return async (method: string, path: string, body?: unknown, accessToken?: string): Promise<Answer> => {
    const headers = {
      ...(body !== undefined ? JSON_TYPE : {}),
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    };
    const res = await fetch(`http://127.0.0.1:${edge.port}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
}

describe("edge accounts and tokens", () => {
  let db: ScratchDatabase;
  let edge: RunningEdge;
  let call: ReturnType<typeof client>;
  let n = 0;
  const email = () => `patient${++n}.${Date.now()}@example.org`;

  async function registerAndSignIn(): Promise<{ email: string; tokens: any; accountId: string }> {
    const address = email();
    const reg = await call("POST", "/api/v1/auth/register", { email: address, password: PASSWORD });
    expect(reg.status).toBe(201);
    const tok = await call("POST", "/api/v1/auth/token", { email: address, password: PASSWORD });
    expect(tok.status).toBe(200);
    return { email: address, tokens: tok.body, accountId: reg.body.id };
  }

  beforeAll(async () => {
    db = await createScratchDatabase("edge_auth");
    edge = await startAuthEdge(db.name);
    call = client(edge);
  });
  afterAll(async () => {
    await edge?.lifecycle.shutdown("test finished");
    await db?.drop();
  });

  it("registers a patient without exposing secrets", async () => {
    const address = `Mixed.Case.${Date.now()}@Example.org`;
    const res = await call("POST", "/api/v1/auth/register", { email: address, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), email: address, role: "patient", createTime: expect.any(String) });
    const row = await db.knex("accounts").where({ id: res.body.id }).first();
    expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(row.password_hash).not.toContain(PASSWORD);

    // E-mail addresses are unique regardless of case.
    const dup = await call("POST", "/api/v1/auth/register", { email: address.toLowerCase(), password: PASSWORD });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("EMAIL_TAKEN");
  });

  it("refuses bad input with every offending field", async () => {
    const res = await call("POST", "/api/v1/auth/register", { email: "not-an-email", password: "short", role: "admin" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([
        { field: "email", message: "must be an e-mail address" },
        { field: "password", message: expect.stringMatching(/fewer than 12/) },
        { field: "role", message: "is not a known field" },
      ]),
    );
    const long = await call("POST", "/api/v1/auth/register", { email: email(), password: "x".repeat(201) });
    expect(long.body.error.details).toEqual([{ field: "password", message: expect.stringMatching(/more than 200/) }]);
    const missing = await call("POST", "/api/v1/auth/token", {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["email", "password"]);
  });

  it("issues an ES256 access token with a kid that the JWKS verifies", async () => {
    const { tokens, accountId } = await registerAndSignIn();
    expect(tokens).toEqual({
      accessToken: expect.any(String),
      tokenType: "Bearer",
      expiresIn: 86400,
      refreshToken: expect.any(String),
    });
    const header = decodeProtectedHeader(tokens.accessToken);
    expect(header).toEqual({ alg: "ES256", kid: expect.any(String), typ: "JWT" });
    const claims = decodeJwt(tokens.accessToken);
    expect(claims).toEqual({
      iss: "clinic-edge",
      aud: "clinic-api",
      sub: accountId,
      role: "patient",
      sid: expect.any(String),
      iat: expect.any(Number),
      exp: (claims.iat as number) + 86400,
      jti: expect.any(String),
    });

    const jwks = await call("GET", "/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toEqual([
      { kty: "EC", crv: "P-256", x: expect.any(String), y: expect.any(String), kid: header.kid, alg: "ES256", use: "sig" },
    ]);
    expect(JSON.stringify(jwks.body)).not.toMatch(/"d"/);
    const { payload } = await jwtVerify(tokens.accessToken, createLocalJWKSet(jwks.body), {
      issuer: "clinic-edge",
      audience: "clinic-api",
    });
    expect(payload.sub).toBe(accountId);
    await expect(edge.auth!.verifyAccessToken(tokens.accessToken)).resolves.toEqual({
      ok: true,
      claims: expect.objectContaining({ sub: accountId, role: "patient" }),
    });
  });

  it("answers a wrong password and an unknown e-mail alike, with similar effort", async () => {
    const { email: known } = await registerAndSignIn();
    const timed = async (body: unknown) => {
      const start = performance.now();
      const res = await call("POST", "/api/v1/auth/token", body);
      return { res, ms: performance.now() - start };
    };
    await timed({ email: `warm-up-${Date.now()}@example.org`, password: PASSWORD });
    const wrong = [];
    const unknown = [];
    for (let i = 0; i < 3; i++) {
      wrong.push(await timed({ email: known, password: "wrong password!" }));
      unknown.push(await timed({ email: `nobody-${i}-${Date.now()}@example.org`, password: PASSWORD }));
    }
    for (const { res } of [...wrong, ...unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toEqual({ code: "INVALID_CREDENTIALS", message: "e-mail or password is wrong", details: [] });
    }
    const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1]!;
    // Both run one scrypt; without the dummy hash an unknown e-mail would answer many times faster.
    expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.5);
  });

  it("rotates refresh tokens; reusing one revokes the whole family", async () => {
    const { tokens: first } = await registerAndSignIn();
    const second = await call("POST", "/api/v1/auth/refresh", { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.headers.get("cache-control")).toBe("no-store");
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect(decodeJwt(second.body.accessToken).sub).toBe(decodeJwt(first.accessToken).sub);

    const reused = await call("POST", "/api/v1/auth/refresh", { refreshToken: first.refreshToken });
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe("REFRESH_TOKEN_REUSED");
    // The newest token of that family was revoked with it.
    const newest = await call("POST", "/api/v1/auth/refresh", { refreshToken: second.body.refreshToken });
    expect(newest.status).toBe(401);
    expect(newest.body.error.code).toBe("REFRESH_TOKEN_REVOKED");

    const unknown = await call("POST", "/api/v1/auth/refresh", { refreshToken: "not-a-token" });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe("INVALID_REFRESH_TOKEN");

    // Only hashes are stored.
    const stored = await db.knex("refresh_tokens").select("token_hash");
    for (const { token_hash } of stored) expect(Buffer.from(token_hash).toString("base64url")).not.toBe(first.refreshToken);
  });

  it("keeps other sign-ins working when one family is revoked", async () => {
    const { email: address, tokens: a } = await registerAndSignIn();
    const b = await call("POST", "/api/v1/auth/token", { email: address, password: PASSWORD });
    await call("POST", "/api/v1/auth/refresh", { refreshToken: a.refreshToken });
    await call("POST", "/api/v1/auth/refresh", { refreshToken: a.refreshToken }); // reuse: family a revoked
    const other = await call("POST", "/api/v1/auth/refresh", { refreshToken: b.body.refreshToken });
    expect(other.status).toBe(200);
  });

  it("refuses an expired refresh token", async () => {
    const { tokens } = await registerAndSignIn();
    await db.knex("refresh_tokens").whereNull("used_at").update({ expires_at: db.knex.raw("now() - interval '1 second'") });
    const res = await call("POST", "/api/v1/auth/refresh", { refreshToken: tokens.refreshToken });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("REFRESH_TOKEN_EXPIRED");
  });

  it("logout revokes the refresh token's family", async () => {
    const { tokens } = await registerAndSignIn();
    const next = await call("POST", "/api/v1/auth/refresh", { refreshToken: tokens.refreshToken });
    const out = await call("POST", "/api/v1/auth/logout", { refreshToken: next.body.refreshToken });
    expect(out.status).toBe(204);
    const after = await call("POST", "/api/v1/auth/refresh", { refreshToken: next.body.refreshToken });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("REFRESH_TOKEN_REVOKED");
    // Unknown tokens are not an error: logging out twice is fine.
    expect((await call("POST", "/api/v1/auth/logout", { refreshToken: "nope" })).status).toBe(204);
  });

  it("logout also revokes the access tokens of that sign-in, and only those", async () => {
    const { tokens } = await registerAndSignIn();
    expect((await call("GET", "/api/v1/accounts/me", undefined, tokens.accessToken)).status).toBe(200);
    expect((await call("POST", "/api/v1/auth/logout", { refreshToken: tokens.refreshToken })).status).toBe(204);
    const after = await call("GET", "/api/v1/accounts/me", undefined, tokens.accessToken);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("TOKEN_REVOKED");
  });

  it("a reused refresh token revokes the access tokens of its sign-in too", async () => {
    const { tokens, email: address } = await registerAndSignIn();
    const second = await call("POST", "/api/v1/auth/token", { email: address, password: PASSWORD });
    const rotated = await call("POST", "/api/v1/auth/refresh", { refreshToken: tokens.refreshToken });
    expect(rotated.status).toBe(200);
    expect((await call("POST", "/api/v1/auth/refresh", { refreshToken: tokens.refreshToken })).body.error.code).toBe("REFRESH_TOKEN_REUSED");
    for (const token of [tokens.accessToken, rotated.body.accessToken]) {
      expect((await call("GET", "/api/v1/accounts/me", undefined, token)).body.error.code).toBe("TOKEN_REVOKED");
    }
    // Another sign-in of the same account is unaffected.
    const me = await call("GET", "/api/v1/accounts/me", undefined, second.body.accessToken);
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(address);
  });

  it("rotates signing keys: old tokens keep verifying, new ones carry the new kid", async () => {
    const { tokens: before } = await registerAndSignIn();
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    const { kid: newKid, retired } = await rotateKeys(db.knex);
    expect(retired).toEqual([oldKid]);

    const after = await call("POST", "/api/v1/auth/refresh", { refreshToken: before.refreshToken });
    expect(decodeProtectedHeader(after.body.accessToken).kid).toBe(newKid);

    const jwks = await call("GET", "/.well-known/jwks.json");
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual([newKid, oldKid]);
    const set = createLocalJWKSet(jwks.body);
    for (const token of [before.accessToken, after.body.accessToken]) {
      await expect(jwtVerify(token, set, { issuer: "clinic-edge", audience: "clinic-api" })).resolves.toBeDefined();
      await expect(edge.auth!.verifyAccessToken(token)).resolves.toEqual(expect.objectContaining({ ok: true }));
    }
  });

  it("creates the bootstrap admin at start, once", async () => {
    const bootstrap = { BOOTSTRAP_ADMIN_EMAIL: "root@example.org", BOOTSTRAP_ADMIN_PASSWORD: "root password 123" };
    for (const settings of [bootstrap, { ...bootstrap, BOOTSTRAP_ADMIN_EMAIL: "root2@example.org" }, bootstrap]) {
      const other = await startAuthEdge(db.name, settings);
      await other.lifecycle.shutdown("test finished");
    }
    expect(await db.knex("accounts").where({ role: "admin" }).pluck("email")).toEqual(["root@example.org"]);
    const tok = await call("POST", "/api/v1/auth/token", { email: "ROOT@example.org", password: "root password 123" });
    expect(tok.status).toBe(200);
    expect(decodeJwt(tok.body.accessToken).role).toBe("admin");
  });

  it("holds back sign-ins for an e-mail address after repeated failures, from any address, known or not", async () => {
    const throttled = await startAuthEdge(db.name, { SIGN_IN_MAX_FAILURES: "3", RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_signin") });
    try {
      const other = client(throttled);
      const { email: address } = await registerAndSignIn();
      const wrong = { email: address, password: "not the password" };
      for (let i = 0; i < 3; i++) expect((await other("POST", "/api/v1/auth/token", wrong)).body.error.code).toBe("INVALID_CREDENTIALS");
      // Now even the right password waits: the guesser cannot tell it found it.
      const held = await other("POST", "/api/v1/auth/token", { email: address.toUpperCase(), password: PASSWORD });
      expect({ status: held.status, code: held.body.error.code }).toEqual({ status: 429, code: "TOO_MANY_SIGN_IN_ATTEMPTS" });
      expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(800);
      // An address nobody has answers exactly the same way, so accounts cannot be enumerated.
      const nobody = { email: `nobody.${Date.now()}@example.org`, password: "whatever it is" };
      for (let i = 0; i < 3; i++) expect((await other("POST", "/api/v1/auth/token", nobody)).status).toBe(401);
      expect((await other("POST", "/api/v1/auth/token", nobody)).body.error.code).toBe("TOO_MANY_SIGN_IN_ATTEMPTS");
      // Other accounts are untouched, and a success clears an account's failures.
      const fresh = await registerAndSignIn();
      const twice = { email: fresh.email, password: "not the password" };
      await other("POST", "/api/v1/auth/token", twice);
      await other("POST", "/api/v1/auth/token", twice);
      expect((await other("POST", "/api/v1/auth/token", { email: fresh.email, password: PASSWORD })).status).toBe(200);
      await other("POST", "/api/v1/auth/token", twice);
      await other("POST", "/api/v1/auth/token", twice);
      expect((await other("POST", "/api/v1/auth/token", { email: fresh.email, password: PASSWORD })).status).toBe(200);
    } finally {
      await throttled.lifecycle.shutdown("test finished");
    }
  });

  it("documents the auth operations in the OpenAPI document", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    expect(Object.keys(doc.paths).filter((p) => p.includes("auth") || p.includes("jwks")).sort()).toEqual([
      "/.well-known/jwks.json",
      "/api/v1/auth/logout",
      "/api/v1/auth/refresh",
      "/api/v1/auth/register",
      "/api/v1/auth/token",
    ]);
    expect(doc.components.schemas.TokenPair.required.sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "tokenType"]);
  });
});

describe("edge auth settings", () => {
  it("requires the database, and the bootstrap admin settings in pairs", () => {
    expect(() => parseConfig(configSchema, { REDIS_URL: "redis://r:6379" })).toThrow(/PGUSER: required but not set/);
    expect(() =>
      parseConfig(configSchema, { PGUSER: "u", PGPASSWORD: "p", REDIS_URL: "redis://r:6379", KAFKA_BROKERS: "k:9092", BOOTSTRAP_ADMIN_EMAIL: "a@example.org" }),
    ).toThrow(/BOOTSTRAP_ADMIN_PASSWORD: required/);
    const defaults = parseConfig(configSchema, { PGUSER: "u", PGPASSWORD: "p", REDIS_URL: "redis://r:6379", KAFKA_BROKERS: "k:9092" });
    expect(defaults).toEqual(
      expect.objectContaining({
        PGDATABASE: "clinic_edge",
        JWT_ISSUER: "clinic-edge",
        JWT_AUDIENCE: "clinic-api",
        ACCESS_TOKEN_TTL_SECONDS: 86400,
        REFRESH_TOKEN_TTL_SECONDS: 2592000,
      }),
    );
  });
});
