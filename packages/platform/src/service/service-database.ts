import type { DatabaseConfig, KafkaConfig } from "../config/shared-schemas";
import { openServiceDatabase, type Knex, type Migration } from "../db/database";
import { createOutboxPublisher, type OutboxPublisher } from "../outbox/outbox";
import type { ServiceContext } from "./start-service";

/** A service's own database, named by PGDATABASE, pooled under the service's name and migrated. */
export function openOwnDatabase(
  service: ServiceContext<DatabaseConfig & { PGDATABASE: string }>,
  migrations: readonly Migration[],
): Promise<Knex> {
  return openServiceDatabase({ ...service, database: service.config.PGDATABASE, migrations });
}

/**
 * The outbox relays of the service's databases, producing as the service's Kafka client id.
 * Registered for shutdown now; `start()` once the service serves.
 */
export function openOutbox(
  service: ServiceContext<KafkaConfig>,
  databases: Parameters<typeof createOutboxPublisher>[0]["databases"],
  tuning: Pick<Parameters<typeof createOutboxPublisher>[0], "batchSize" | "idleMs" | "minRoundGapMs" | "retentionHours"> = {},
): OutboxPublisher {
  return createOutboxPublisher({
    ...tuning,
    clientId: service.name,
    brokers: service.config.KAFKA_BROKERS,
    logger: service.logger,
    registry: service.registry,
    lifecycle: service.lifecycle,
    databases,
  });
}

/** The service's own database and the outbox relay over it (`outbox.start()` once serving). */
export async function openOwnDatabaseWithOutbox(
  service: ServiceContext<DatabaseConfig & KafkaConfig & { PGDATABASE: string }>,
  migrations: readonly Migration[],
): Promise<{ db: Knex; outbox: OutboxPublisher }> {
  const db = await openOwnDatabase(service, migrations);
  return { db, outbox: openOutbox(service, [{ name: service.name, db }]) };
}
