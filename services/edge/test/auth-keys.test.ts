import { migrateLatest, migrateRollbackAll } from "@clinic/platform/db";
import { createScratchDatabase, type ScratchDatabase } from "@clinic/test-stack";
import { SignJWT, base64url, decodeJwt, generateKeyPair } from "jose";
import { migrations } from "../migrations";
import { ensureBootstrapAdmin, createAccount } from "../src/auth/accounts";
import { ensureActiveKey, rotateKeys, rotateKeysIfOlderThan } from "../src/auth/keys";
import { verifyPassword } from "../src/auth/password";
import { AuthService, type AuthSettings } from "../src/auth/service";

/** Token verification, key lifetimes, the bootstrap admin and the migration, on a scratch database. */

const SETTINGS: AuthSettings = {
  issuer: "clinic-edge",
  audience: "clinic-api",
  accessTokenTtlSeconds: 86400,
  refreshTokenTtlSeconds: 2592000,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("edge auth storage and verification", () => {
  let db: ScratchDatabase;
  let auth: AuthService;
  let patient: { id: string; role: "patient"; doctor_id: null };

  beforeAll(async () => {
    db = await createScratchDatabase("edge_auth_keys");
    await migrateLatest(db.knex, migrations);
    await ensureActiveKey(db.knex);
    auth = new AuthService(db.knex, SETTINGS);
    const row = await createAccount(db.knex, { email: "pat@example.org", password: "a long password", role: "patient" });
    patient = { id: row.id, role: "patient", doctor_id: null };
  });
  afterAll(async () => {
    await db?.drop();
  });

  describe("verifyAccessToken", () => {
    const failure = async (token: string) => {
      const result = await auth.verifyAccessToken(token);
      return result.ok ? "ok" : result.failure;
    };
    const realKid = async () => (await auth.keys.signingKey()).kid;
    const claims = () => ({ role: "patient" });
    const signed = (key: Parameters<SignJWT["sign"]>[0], kid: string, alg = "ES256") =>
      new SignJWT(claims())
        .setProtectedHeader({ alg, kid })
        .setIssuer(SETTINGS.issuer)
        .setAudience(SETTINGS.audience)
        .setSubject(patient.id)
        .setIssuedAt()
        .setExpirationTime("1h")
        .setJti("j1")
        .sign(key);

    it("accepts its own tokens, with the claims the RBAC work needs", async () => {
      const token = await auth.issueAccessToken(patient);
      await expect(auth.verifyAccessToken(token)).resolves.toEqual({
        ok: true,
        claims: { sub: patient.id, role: "patient", jti: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) },
      });
      const doctorId = "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10";
      const doctor = await auth.issueAccessToken({ id: patient.id, role: "doctor", doctor_id: doctorId });
      await expect(auth.verifyAccessToken(doctor)).resolves.toEqual({
        ok: true,
        claims: expect.objectContaining({ role: "doctor", doctorId }),
      });
    });

    it("refuses unsigned tokens (alg none)", async () => {
      const enc = (o: object) => base64url.encode(JSON.stringify(o));
      const now = Math.floor(Date.now() / 1000);
      const payload = { iss: SETTINGS.issuer, aud: SETTINGS.audience, sub: patient.id, role: "admin", iat: now, exp: now + 60, jti: "x" };
      expect(await failure(`${enc({ alg: "none", kid: await realKid() })}.${enc(payload)}.`)).toBe("alg_none");
      expect(await failure(`${enc({ alg: "NONE" })}.${enc(payload)}.`)).toBe("alg_none");
    });

    it("refuses other algorithms, such as HMAC keyed with anything", async () => {
      const token = await signed(new TextEncoder().encode("x".repeat(32)), await realKid(), "HS256");
      expect(await failure(token)).toBe("unsupported_alg");
    });

    it("refuses a token signed by another key, under our kid or its own", async () => {
      const { privateKey } = await generateKeyPair("ES256");
      expect(await failure(await signed(privateKey, await realKid()))).toBe("bad_signature");
      expect(await failure(await signed(privateKey, "someone-elses-kid"))).toBe("unknown_kid");
    });

    it("refuses wrong audience and wrong issuer, even when signed with our key", async () => {
      const otherAudience = new AuthService(db.knex, { ...SETTINGS, audience: "another-api" });
      const otherIssuer = new AuthService(db.knex, { ...SETTINGS, issuer: "someone-else" });
      expect(await failure(await otherAudience.issueAccessToken(patient))).toBe("wrong_audience");
      expect(await failure(await otherIssuer.issueAccessToken(patient))).toBe("wrong_issuer");
    });

    it("refuses garbage", async () => {
      expect(await failure("")).toBe("malformed");
      expect(await failure("abc.def")).toBe("malformed");
      expect(await failure("eyJhbGciOiJFUzI1NiJ9.e30.e30.e30")).toBe("malformed");
    });

    it("refuses an expired token (one-second lifetime)", async () => {
      const short = new AuthService(db.knex, { ...SETTINGS, accessTokenTtlSeconds: 1 });
      const token = await short.issueAccessToken(patient);
      const { iat, exp } = decodeJwt(token);
      expect(exp! - iat!).toBe(1);
      // iat is a whole second, so a token issued late in a second may be past its exp a moment
      // later: wait past exp by the clock instead of assuming it was still valid just after issue.
      await sleep(Math.max(0, exp! * 1000 + 100 - Date.now()));
      expect(await failure(token)).toBe("expired");
    });

    it("refuses a role the edge does not know", async () => {
      const token = await auth.issueAccessToken({ id: patient.id, role: "superuser" as "admin", doctor_id: null });
      expect(await failure(token)).toBe("invalid_claims");
    });
  });

  it("stops publishing and accepting a retired key once its tokens have expired", async () => {
    const short = new AuthService(db.knex, { ...SETTINGS, accessTokenTtlSeconds: 1 });
    const token = await short.issueAccessToken(patient);
    const oldKid = (await short.keys.signingKey()).kid;
    const { kid } = await rotateKeys(db.knex);
    expect((await short.publicKeys()).map((k) => k.kid)).toEqual(expect.arrayContaining([kid, oldKid]));
    await sleep(2_100);
    expect((await short.publicKeys()).map((k) => k.kid)).toEqual([kid]);
    expect(await new AuthService(db.knex, { ...SETTINGS, accessTokenTtlSeconds: 1 }).verifyAccessToken(token)).toEqual(
      expect.objectContaining({ ok: false, failure: "unknown_kid" }),
    );
  });

  it("rotates on schedule only once the signing key is old enough, once across concurrent replicas", async () => {
    const active = async () => (await db.knex("signing_keys").whereNull("retired_at").pluck("kid")) as string[];
    const [current] = await active();
    expect(await rotateKeysIfOlderThan(db.knex, 30 * 86_400)).toBeUndefined();
    expect(await active()).toEqual([current]);

    const oldToken = await auth.issueAccessToken(patient);
    // Thirty-one days later, as far as the key knows.
    await db.knex("signing_keys").where({ kid: current }).update({ created_at: db.knex.raw("now() - interval '31 days'") });
    const results = await Promise.all([1, 2, 3].map(() => rotateKeysIfOlderThan(db.knex, 30 * 86_400)));
    const rotations = results.filter((r) => r !== undefined);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]!.retired).toEqual([current]);
    expect(await active()).toEqual([rotations[0]!.kid]);
    // Tokens of the retired key still verify until they expire; new ones carry the new kid.
    const fresh = new AuthService(db.knex, SETTINGS);
    await expect(fresh.verifyAccessToken(oldToken)).resolves.toEqual(expect.objectContaining({ ok: true }));
    const newToken = await fresh.issueAccessToken(patient);
    expect(JSON.parse(Buffer.from(newToken.split(".")[0]!, "base64url").toString()).kid).toBe(rotations[0]!.kid);
  });

  it("creates the bootstrap admin once, and never while an admin exists", async () => {
    expect(await ensureBootstrapAdmin(db.knex, "Root@Example.org", "first admin password")).toBe("created");
    expect(await ensureBootstrapAdmin(db.knex, "root@example.org", "another password!")).toBe("admin-exists");
    expect(await ensureBootstrapAdmin(db.knex, "other@example.org", "another password!")).toBe("admin-exists");
    const admins = await db.knex("accounts").where({ role: "admin" });
    expect(admins).toHaveLength(1);
    expect(await verifyPassword("first admin password", admins[0].password_hash)).toBe(true);
    expect(await verifyPassword("another password!", admins[0].password_hash)).toBe(false);
  });

  it("enforces roles and the doctor link in the database", async () => {
    const insert = (row: object) => db.knex("accounts").insert({ password_hash: "x", ...row });
    await expect(insert({ email: "r1@example.org", role: "root" })).rejects.toThrow(/accounts_role_check/);
    await expect(insert({ email: "r2@example.org", role: "doctor" })).rejects.toThrow(/accounts_doctor_id_iff_doctor/);
    await expect(
      insert({ email: "r3@example.org", role: "patient", doctor_id: "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10" }),
    ).rejects.toThrow(/accounts_doctor_id_iff_doctor/);
    await expect(insert({ email: "r4@example.org", role: "doctor", doctor_id: "0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10" })).resolves.toBeDefined();
    await expect(insert({ email: "PAT@example.org", role: "patient" })).rejects.toThrow(/accounts_email_lower_key/);
  });
});

describe("edge migrations", () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase("edge_migrations");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("go up, down and up again", async () => {
    const tables = async () =>
      (
        await db.knex("information_schema.tables").where({ table_schema: "public" }).whereNot("table_name", "like", "knex_%").pluck("table_name")
      ).sort();
    const all = ["20261201090000_create_accounts_and_tokens", "20261202090000_create_audit_events"];
    const everyTable = ["accounts", "audit_events", "refresh_tokens", "signing_keys"];
    expect(await migrateLatest(db.knex, migrations)).toEqual(all);
    expect(await tables()).toEqual(everyTable);
    expect(await migrateRollbackAll(db.knex, migrations)).toEqual([...all].reverse());
    expect(await tables()).toEqual([]);
    expect(await migrateLatest(db.knex, migrations)).toEqual(all);
    expect(await tables()).toEqual(everyTable);
  });
});
