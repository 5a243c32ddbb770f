import type { Knex, Migration } from "@clinic/platform/db";

export const createAuditEvents: Migration = {
  name: "20261202090000_create_audit_events",
  async up(knex: Knex) {
    // Append-only record of what admins did through the API: who, what, to which resource, and
    // how it ended. Request bodies are not stored (they may hold patient contact data).
    await knex.raw(`
      CREATE TABLE audit_events (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_account_id uuid NOT NULL,
        actor_role text NOT NULL,
        action text NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        target jsonb NOT NULL DEFAULT '{}'::jsonb,
        status_code integer NOT NULL,
        request_id text NOT NULL,
        client_ip text NOT NULL,
        CONSTRAINT audit_events_pkey PRIMARY KEY (id)
      )`);
    await knex.raw("CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC)");
    await knex.raw("CREATE INDEX audit_events_actor_idx ON audit_events (actor_account_id, at DESC)");
  },
  async down(knex: Knex) {
    await knex.raw("DROP TABLE audit_events");
  },
};
