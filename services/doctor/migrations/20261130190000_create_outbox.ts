import { createOutboxTable, dropOutboxTable, type Knex, type Migration } from "@clinic/platform";

/** The transactional outbox for doctor events (see the platform's outbox relay). */
export const createOutbox: Migration = {
  name: "20261130190000_create_outbox",
  up: (knex: Knex) => createOutboxTable(knex),
  down: (knex: Knex) => dropOutboxTable(knex),
};
