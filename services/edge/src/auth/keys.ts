import { randomUUID } from "node:crypto";
import { SIGNING_ALGORITHM } from "@clinic/platform/auth";
import type { Knex } from "@clinic/platform/db";
import { exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from "jose";


interface SigningKeyRow {
  kid: string;
  algorithm: string;
  private_jwk: JWK;
  public_jwk: JWK;
  created_at: Date;
  retired_at: Date | null;
}

/** A public key still accepted for verification, as published in the JWKS. */
export interface PublicKey {
  kid: string;
  jwk: { kty: string; crv: string; x: string; y: string; kid: string; alg: string; use: "sig" };
  /** When tokens signed with it can no longer be valid; undefined while it still signs. */
  verifiesUntil?: Date;
}

export interface SigningKey {
  kid: string;
  key: KeyLike | Uint8Array;
}

async function newKeyRow(): Promise<Omit<SigningKeyRow, "created_at" | "retired_at">> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  return {
    kid: randomUUID(),
    algorithm: SIGNING_ALGORITHM,
    private_jwk: await exportJWK(privateKey),
    public_jwk: await exportJWK(publicKey),
  };
}

// Serializes key creation across replicas and the rotate command (transaction-scoped lock).
const KEY_LOCK = "pg_advisory_xact_lock(hashtext('clinic-edge-signing-keys'))";

/** Creates a signing key when none is active (first start); returns the active kid. */
export async function ensureActiveKey(db: Knex): Promise<string> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT ${KEY_LOCK}`);
    const active = await trx<SigningKeyRow>("signing_keys").whereNull("retired_at").orderBy("created_at", "desc").first("kid");
    if (active) return active.kid;
    const row = await newKeyRow();
    await trx("signing_keys").insert(row);
    return row.kid;
  });
}

async function rotateIn(trx: Knex.Transaction): Promise<{ kid: string; retired: string[] }> {
  const retired = (await trx("signing_keys")
    .whereNull("retired_at")
    .update({ retired_at: trx.fn.now() })
    .returning("kid")) as { kid: string }[];
  const row = await newKeyRow();
  await trx("signing_keys").insert(row);
  return { kid: row.kid, retired: retired.map((r) => r.kid) };
}

/**
 * A new key signs from now on; every previously active key is retired and keeps verifying
 * until the tokens it signed have expired (`retired_at` + access-token lifetime).
 */
export async function rotateKeys(db: Knex): Promise<{ kid: string; retired: string[] }> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT ${KEY_LOCK}`);
    return rotateIn(trx);
  });
}

/**
 * Scheduled rotation: rotates only when the signing key is older than `maxAgeSeconds`. Replicas
 * checking at the same moment are serialized by the lock and see each other's new key, so one
 * rotation happens, not one per replica.
 */
export async function rotateKeysIfOlderThan(db: Knex, maxAgeSeconds: number): Promise<{ kid: string; retired: string[] } | undefined> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT ${KEY_LOCK}`);
    const fresh = await trx("signing_keys")
      .whereNull("retired_at")
      .whereRaw("created_at > now() - make_interval(secs => ?)", [maxAgeSeconds])
      .first("kid");
    return fresh ? undefined : rotateIn(trx);
  });
}

const RELOAD_AFTER_MS = 10_000;
const MIN_RELOAD_GAP_MS = 1_000;

/**
 * Signing and verification keys from the database. Signing reads the newest active key every
 * time (a rotation done by the command in another process takes effect at once); verification
 * keys are cached briefly and reloaded early when a token names an unknown kid.
 */
export class KeyStore {
  private cache: { at: number; keys: Map<string, { key: KeyLike | Uint8Array; verifiesUntil?: Date }> } | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  async signingKey(): Promise<SigningKey> {
    const row = await this.db<SigningKeyRow>("signing_keys").whereNull("retired_at").orderBy("created_at", "desc").first();
    if (!row) throw new Error("no active signing key (the edge creates one at start; run `rotate-keys`)");
    // A key this process has not seen yet (a rotation): its tokens must verify here at once.
    if (this.cache && !this.cache.keys.has(row.kid)) this.cache = undefined;
    return { kid: row.kid, key: await importJWK(row.private_jwk, SIGNING_ALGORITHM) };
  }

  /** Every key whose tokens may still be valid: active ones and recently retired ones. */
  async publicKeys(): Promise<PublicKey[]> {
    const rows = await this.db<SigningKeyRow>("signing_keys")
      .whereRaw("retired_at IS NULL OR retired_at + make_interval(secs => ?) > now()", [this.accessTokenTtlSeconds])
      .orderBy("created_at", "desc");
    return rows.map((row) => ({
      kid: row.kid,
      jwk: {
        kty: String(row.public_jwk.kty),
        crv: String(row.public_jwk.crv),
        x: String(row.public_jwk.x),
        y: String(row.public_jwk.y),
        kid: row.kid,
        alg: row.algorithm,
        use: "sig" as const,
      },
      ...(row.retired_at ? { verifiesUntil: new Date(row.retired_at.getTime() + this.accessTokenTtlSeconds * 1000) } : {}),
    }));
  }

  /** The key that verifies tokens with this kid, or undefined when no valid key has it. */
  async verificationKey(kid: string): Promise<KeyLike | Uint8Array | undefined> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > RELOAD_AFTER_MS) await this.reload();
    let entry = this.cache?.keys.get(kid);
    if (!entry && this.cache) {
      // Another replica may have rotated just now. Reload, but at most once per gap: a stream
      // of made-up kids waits for the next reload instead of hammering the database.
      const wait = this.cache.at + MIN_RELOAD_GAP_MS - now;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Unless a reload began after this token arrived, which has seen whatever there is.
      if (!this.cache || this.cache.at < now) await this.reload();
      entry = this.cache?.keys.get(kid);
    }
    if (!entry || (entry.verifiesUntil && entry.verifiesUntil.getTime() <= Date.now())) return undefined;
    return entry.key;
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const keys = new Map<string, { key: KeyLike | Uint8Array; verifiesUntil?: Date }>();
        for (const pub of await this.publicKeys()) {
          keys.set(pub.kid, {
            key: await importJWK(pub.jwk, SIGNING_ALGORITHM),
            ...(pub.verifiesUntil ? { verifiesUntil: pub.verifiesUntil } : {}),
          });
        }
        this.cache = { at: Date.now(), keys };
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
