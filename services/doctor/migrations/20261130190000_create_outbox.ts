import type { Knex, Migration } from "@clinic/platform/db";
import { createOutboxTable, dropOutboxTable } from "@clinic/platform/outbox";

/** The transactional outbox for doctor events (see the platform's outbox relay). */
export const createOutbox: Migration = {
  name: "20261130190000_create_outbox",
  up: (knex: Knex) => createOutboxTable(knex),
  down: (knex: Knex) => dropOutboxTable(knex),
};
