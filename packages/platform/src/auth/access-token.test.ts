import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from "jose";
import { createTokenVerifier, signAccessToken, type VerifierOptions } from "./access-token";

const ISSUER = "https://clinic.test";
const AUDIENCE = "clinic-api";
const PATIENT = "0b0e7f4e-5d2a-4c55-9a53-3d8f5c1f8a01";

describe("createTokenVerifier", () => {
  let key: { privateKey: KeyLike; publicKey: KeyLike };
  let other: { privateKey: KeyLike; publicKey: KeyLike };
  /** kid → key, changed by the tests to retire or rotate keys; counts lookups. */
  let keys: Map<string, KeyLike>;

  beforeAll(async () => {
    key = await generateKeyPair("ES256");
    other = await generateKeyPair("ES256");
  });
  beforeEach(() => {
    keys = new Map([["k1", key.publicKey]]);
  });

  const options = (): VerifierOptions => ({ issuer: ISSUER, audience: AUDIENCE, keyFor: async (kid) => keys.get(kid) });
  const sign = (ttlSeconds = 300, issuedAt?: number, signingKey = key.privateKey, kid = "k1") =>
    signAccessToken({ accountId: PATIENT, role: "patient" }, { key: signingKey, kid, issuer: ISSUER, audience: AUDIENCE, ttlSeconds, ...(issuedAt ? { issuedAt } : {}) });

  it("answers a token it verified from memory, with the same claims", async () => {
    const verifier = createTokenVerifier(options());
    const token = await sign();
    const first = await verifier.verify(token);
    expect(first).toMatchObject({ ok: true, claims: { sub: PATIENT, role: "patient" } });
    expect(await verifier.verify(token)).toEqual(first);
    expect(verifier.hits).toBe(1);
    // Another key under the same kid: the remembered answer is not given, the full check fails.
    keys.set("k1", other.publicKey);
    expect(await verifier.verify(token)).toMatchObject({ ok: false, failure: "bad_signature" });
    expect(verifier.hits).toBe(1);
    expect(verifier.remembered).toBe(0);
  });

  it("remembers by the token's exact text: another token never gets its claims", async () => {
    const verifier = createTokenVerifier(options());
    const verify = (token: string) => verifier.verify(token);
    const token = await sign();
    expect((await verify(token)).ok).toBe(true);
    const [header, payload, signature] = token.split(".");
    const flipped = `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith("AA") ? "AB" : "AA"}`;
    expect(await verify(flipped)).toMatchObject({ ok: false });
  });

  it("forgets a token whose key was retired", async () => {
    const verifier = createTokenVerifier(options());
    const verify = (token: string) => verifier.verify(token);
    const token = await sign();
    expect((await verify(token)).ok).toBe(true);
    keys.delete("k1");
    expect(await verify(token)).toMatchObject({ ok: false, failure: "unknown_kid" });
  });

  it("stops accepting a remembered token when it expires", async () => {
    const verifier = createTokenVerifier(options());
    const verify = (token: string) => verifier.verify(token);
    // exp two whole seconds after this second began: more than a second left for the first check,
    // however late in the second the test runs; then wait past exp by the clock.
    const expiresAt = (Math.floor(Date.now() / 1000) + 2) * 1000;
    const token = await sign(2, expiresAt / 1000 - 2);
    expect((await verify(token)).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt + 100 - Date.now())));
    expect(await verify(token)).toMatchObject({ ok: false, failure: "expired" });
  });

  it("never remembers a failure, and refuses what the full check refuses", async () => {
    const verifier = createTokenVerifier(options());
    const verify = (token: string) => verifier.verify(token);
    const unknown = await sign(300, undefined, key.privateKey, "k2");
    expect(await verify(unknown)).toMatchObject({ ok: false, failure: "unknown_kid" });
    keys.set("k2", key.publicKey);
    expect((await verify(unknown)).ok).toBe(true);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", kid: "k1" })).toString("base64url")}.${Buffer.from(JSON.stringify({ sub: PATIENT })).toString("base64url")}.`;
    expect(await verify(unsigned)).toMatchObject({ ok: false, failure: "alg_none" });
    // HS256 keyed with the public key's JWK text: refused, remembered or not.
    const hmacKey = new TextEncoder().encode(JSON.stringify(await exportJWK(key.publicKey)));
    const confused = await new SignJWT({ role: "patient" })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(PATIENT)
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti("j")
      .sign(hmacKey);
    expect(await verify(confused)).toMatchObject({ ok: false, failure: "unsupported_alg" });
    expect(await verify(confused)).toMatchObject({ ok: false, failure: "unsupported_alg" });
    // Only the token that verified (once k2 existed) is remembered.
    expect(verifier.remembered).toBe(1);
    expect(verifier.hits).toBe(0);
  });

  it("keeps at most maxEntries tokens, forgetting the oldest", async () => {
    const verifier = createTokenVerifier(options(), 2);
    const [a, b, c] = await Promise.all([sign(), sign(), sign()]);
    for (const t of [a!, b!, c!]) expect((await verifier.verify(t)).ok).toBe(true);
    expect(verifier.remembered).toBe(2);
    // b and c remembered; a was forgotten and is checked in full again.
    for (const t of [b!, c!]) expect((await verifier.verify(t)).ok).toBe(true);
    expect(verifier.hits).toBe(2);
    expect((await verifier.verify(a!)).ok).toBe(true);
    expect(verifier.hits).toBe(2);
  });
});
