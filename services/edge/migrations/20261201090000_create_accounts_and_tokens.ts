import type { Knex, Migration } from "@clinic/platform/db";

export const createAccountsAndTokens: Migration = {
  name: "20261201090000_create_accounts_and_tokens",
  async up(knex: Knex) {
    await knex.raw(`
      CREATE TABLE accounts (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        email text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL,
        doctor_id uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT accounts_pkey PRIMARY KEY (id),
        CONSTRAINT accounts_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
        CONSTRAINT accounts_role_check CHECK (role IN ('patient', 'doctor', 'admin')),
        -- A doctor account acts for exactly one doctor record; nobody else has one.
        CONSTRAINT accounts_doctor_id_iff_doctor CHECK ((role = 'doctor') = (doctor_id IS NOT NULL))
      )`);
    // Case-insensitive uniqueness: Ada@x.org and ada@x.org are one account.
    await knex.raw("CREATE UNIQUE INDEX accounts_email_lower_key ON accounts (lower(email))");
    // "Is there an admin yet?" at every start.
    await knex.raw("CREATE INDEX accounts_role_idx ON accounts (role)");

    // Private keys are stored in clear; encryption at rest (KMS envelope) is a later step.
    await knex.raw(`
      CREATE TABLE signing_keys (
        kid text NOT NULL,
        algorithm text NOT NULL,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        retired_at timestamptz NULL,
        CONSTRAINT signing_keys_pkey PRIMARY KEY (kid),
        CONSTRAINT signing_keys_algorithm_check CHECK (algorithm IN ('ES256')),
        CONSTRAINT signing_keys_retired_after_created CHECK (retired_at IS NULL OR retired_at >= created_at)
      )`);
    await knex.raw("CREATE INDEX signing_keys_retired_at_idx ON signing_keys (retired_at)");

    await knex.raw(`
      CREATE TABLE refresh_tokens (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        family_id uuid NOT NULL,
        account_id uuid NOT NULL,
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz NULL,
        revoked_at timestamptz NULL,
        CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
        CONSTRAINT refresh_tokens_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
        CONSTRAINT refresh_tokens_token_hash_length CHECK (octet_length(token_hash) = 32)
      )`);
    await knex.raw("CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash)");
    await knex.raw("CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id)");
    await knex.raw("CREATE INDEX refresh_tokens_account_id_idx ON refresh_tokens (account_id)");
  },
  async down(knex: Knex) {
    await knex.raw("DROP TABLE refresh_tokens");
    await knex.raw("DROP TABLE signing_keys");
    await knex.raw("DROP TABLE accounts");
  },
};
