import { describeMigrations, tablesOf } from "@clinic/test-stack";
import { migrations } from "../migrations";

const TABLES = ["booking_contacts", "dead_letters", "notifications"];

describeMigrations({
  service: "notifier",
  migrations,
  afterUp: async (db) => {
    expect(await tablesOf(db)).toEqual(TABLES);

    // The deduplication key and the named checks are enforced by the database.
    const row = { event_id: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", booking_id: "0194d3f2-7a1b-7c3d-8e4f-5a6b7c8d9e0f", event_type: "booking.confirmed" };
    await db.knex("notifications").insert({ ...row, channel: "email", status: "sent", sent_at: new Date() });
    await expect(db.knex("notifications").insert({ ...row, channel: "email", status: "sent", sent_at: new Date() })).rejects.toThrow(
      /notifications_event_channel_key/,
    );
    await expect(db.knex("notifications").insert({ ...row, channel: "fax", status: "sent", sent_at: new Date() })).rejects.toThrow(
      /notifications_channel_check/,
    );
    await expect(db.knex("notifications").insert({ ...row, channel: "sms", status: "sending" })).rejects.toThrow(/notifications_claim_check/);
    const source = { source_topic: "t", source_partition: 0, source_offset: 7 };
    await db.knex("dead_letters").insert({ ...source, reason: "MALFORMED" });
    await expect(db.knex("dead_letters").insert({ ...source, reason: "MALFORMED" })).rejects.toThrow(/dead_letters_source_key/);
    await expect(db.knex("dead_letters").insert({ ...source, source_offset: 8, reason: "not a reason" })).rejects.toThrow(/dead_letters_reason_check/);
  },
  afterDown: async (db) => {
    expect(await tablesOf(db)).toEqual([]);
  },
  afterUpAgain: async (db) => {
    expect(await tablesOf(db)).toEqual(TABLES);
  },
});
