import type { Knex, Migration } from "@clinic/platform/db";

export const createNotifierTables: Migration = {
  name: "20261201090000_create_notifier_tables",
  async up(knex: Knex) {
    // One row per (event, channel): the deduplication record. A row is claimed (pending) before
    // the first attempt, `sending` while an attempt may be in flight, and final once `sent` or
    // `dead_lettered`. The claim token and lease say who may act on it, and until when.
    await knex.raw(`
      CREATE TABLE notifications (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        event_id uuid NOT NULL,
        booking_id uuid NOT NULL,
        event_type text NOT NULL,
        channel text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        duplicate_deliveries integer NOT NULL DEFAULT 0,
        claim_token uuid,
        lease_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CONSTRAINT notifications_pkey PRIMARY KEY (id),
        CONSTRAINT notifications_event_channel_key UNIQUE (event_id, channel),
        CONSTRAINT notifications_channel_check CHECK (channel IN ('email', 'sms')),
        CONSTRAINT notifications_status_check CHECK (status IN ('pending', 'sending', 'sent', 'dead_lettered')),
        CONSTRAINT notifications_attempts_check CHECK (attempts >= 0 AND duplicate_deliveries >= 0),
        CONSTRAINT notifications_sent_at_check CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
        CONSTRAINT notifications_claim_check CHECK (
          status NOT IN ('pending', 'sending') OR (claim_token IS NOT NULL AND lease_expires_at IS NOT NULL)
        )
      )`);
    await knex.raw("CREATE INDEX notifications_booking_id_idx ON notifications (booking_id, created_at)");

    // What still failed, for manual review and replay. `message` is the rendered notification
    // (recipient and text) so a replay does not depend on the event still being on the topic;
    // `payload` is the Kafka value exactly as received (the only content of a MALFORMED entry).
    await knex.raw(`
      CREATE TABLE dead_letters (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        notification_id uuid,
        event_id uuid,
        booking_id uuid,
        event_type text,
        channel text,
        reason text NOT NULL,
        error text,
        attempts integer NOT NULL DEFAULT 0,
        payload bytea,
        message jsonb,
        source_topic text NOT NULL,
        source_partition integer NOT NULL,
        source_offset bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        replay_time timestamptz,
        replay_status text,
        replay_error text,
        CONSTRAINT dead_letters_pkey PRIMARY KEY (id),
        CONSTRAINT dead_letters_seq_key UNIQUE (seq),
        CONSTRAINT dead_letters_notification_id_key UNIQUE (notification_id),
        CONSTRAINT dead_letters_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES notifications (id) ON DELETE CASCADE,
        CONSTRAINT dead_letters_channel_check CHECK (channel IS NULL OR channel IN ('email', 'sms')),
        CONSTRAINT dead_letters_reason_check CHECK (reason ~ '^[A-Z][A-Z_]*$'),
        CONSTRAINT dead_letters_attempts_check CHECK (attempts >= 0),
        CONSTRAINT dead_letters_replay_status_check CHECK (replay_status IS NULL OR (replay_status IN ('sent', 'failed') AND replay_time IS NOT NULL)),
        CONSTRAINT dead_letters_message_check CHECK ((message IS NULL) = (notification_id IS NULL))
      )`);
    // A message that could not be decoded has no notification; it is dead-lettered once per
    // position on its topic.
    await knex.raw(
      "CREATE UNIQUE INDEX dead_letters_source_key ON dead_letters (source_topic, source_partition, source_offset) WHERE notification_id IS NULL",
    );
    // ListDeadLetters: newest first.
    await knex.raw("CREATE INDEX dead_letters_created_at_idx ON dead_letters (created_at DESC, seq DESC)");

    // booking.expired carries no contact; the one from booking.created is kept until the hold
    // ends (or for CONTACT_RETENTION_HOURS at most).
    await knex.raw(`
      CREATE TABLE booking_contacts (
        booking_id uuid NOT NULL,
        patient_name text NOT NULL,
        patient_contact text NOT NULL,
        patient_phone text NOT NULL DEFAULT '',
        slot_start_time timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT booking_contacts_pkey PRIMARY KEY (booking_id)
      )`);
    await knex.raw("CREATE INDEX booking_contacts_created_at_idx ON booking_contacts (created_at)");
  },
  async down(knex: Knex) {
    await knex.raw("DROP TABLE booking_contacts");
    await knex.raw("DROP TABLE dead_letters");
    await knex.raw("DROP TABLE notifications");
  },
};
