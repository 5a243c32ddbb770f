import { parseConfig } from "@clinic/platform/config";
import { createKafka } from "@clinic/platform/kafka";
import type { Lifecycle } from "@clinic/platform/service";
import { configSchema as bookingConfigSchema, startBookingService, type RunningBookingService } from "@clinic/booking-service";
import { configSchema as doctorConfigSchema, startDoctorService } from "@clinic/doctor-service";
import { configSchema as slotConfigSchema, startSlotService, type RunningSlotService } from "@clinic/slot-service";
import { testIssuer } from "./file-issuer";
import { withKafkaAdmin } from "./kafka-admin";
import { createScratchDatabase, type ScratchDatabase } from "./scratch-database";
import { stackServiceEnv, testLogger } from "./stack-env";

// One service at a time in this process, on port 0 over scratch databases of the test stack's
// PostgreSQL, trusting the test file's issuer (`testIssuer`): for a service's own tests, with its
// peers either started the same way or left at an address nobody listens on.

/** A service started in-process on port 0 over its own scratch database. */
export interface StartedService {
  address: string;
  metricsPort: number;
  db: ScratchDatabase;
  lifecycle: Lifecycle;
  stop(): Promise<void>;
}

function started(service: { grpcPort: number; metricsPort: number; lifecycle: Lifecycle }, db: ScratchDatabase, ownsDb = true): StartedService {
  return {
    address: `127.0.0.1:${service.grpcPort}`,
    metricsPort: service.metricsPort,
    db,
    lifecycle: service.lifecycle,
    stop: async () => {
      await service.lifecycle.shutdown("test finished");
      if (ownsDb) await db.drop();
    },
  };
}

/** The settings every service started here shares: the stack, the issuer, port 0. */
async function commonEnv(): Promise<Record<string, string>> {
  return { ...stackServiceEnv(), ...(await testIssuer()).env, GRPC_PORT: "0", METRICS_PORT: "0" };
}

/** Extra settings override the defaults, e.g. `{ REDIS_URL }` of a Redis a test may kill. */
export async function startDoctor(env: Record<string, string> = {}): Promise<StartedService> {
  const db = await createScratchDatabase("slot_test_doctor");
  const config = parseConfig(doctorConfigSchema, { ...(await commonEnv()), PGDATABASE: db.name, ...env });
  const service = await startDoctorService(config, testLogger("doctor"));
  return started(service, db);
}

export interface StartedSlotService extends StartedService {
  service: RunningSlotService;
}

/** `db` reuses another instance's database (a second replica, a restart); it is not dropped then. */
export async function startSlot(
  env: { DOCTOR_ADDR: string; BOOKING_ADDR: string } & Record<string, string>,
  db?: ScratchDatabase,
): Promise<StartedSlotService> {
  const database = db ?? (await createScratchDatabase("slot_test_slot"));
  const config = parseConfig(slotConfigSchema, {
    ...(await commonEnv()),
    PGDATABASE: database.name,
    // Calls to a peer that is not listening fail fast; this bounds a peer that hangs.
    GRPC_CLIENT_DEADLINE_MS: "3000",
    ...env,
  });
  const service = await startSlotService(config, testLogger("slot"));
  return { ...started(service, database, db === undefined), service };
}

export interface StartedBooking {
  address: string;
  metricsPort: number;
  service: RunningBookingService;
  stop(): Promise<void>;
}

/** Replicas started per shard set, so the last one to stop removes the set's step topic. */
const replicasOfShards = new Map<string, number>();

/** A Kafka client of the test stack's brokers, for creating and removing a shard set's step topic. */
const stepsKafka = () => createKafka({ clientId: "booking-test-steps", brokers: stackServiceEnv()["KAFKA_BROKERS"]!.split(","), logger: testLogger("kafka") });

/**
 * The booking service over the given shard databases (several replicas may share them), on
 * `port` when given (peers that must know its address before it starts). Replicas of one shard
 * set share a reschedule step topic and consumer group of their own, as a deployment's replicas
 * do; with the defaults, every test file's booking service would join one group on one topic,
 * take each other's steps and stall each other's shutdown in the rebalances.
 */
export async function startBooking(
  shards: readonly ScratchDatabase[],
  env: { SLOT_ADDR: string } & Record<string, string>,
  port = 0,
): Promise<StartedBooking> {
  const shardSet = shards.map((db) => db.name).join(",");
  const steps = `test.reschedules.${shards[0]?.name ?? "none"}`;
  const ownSteps = env["RESCHEDULE_TOPIC"] === undefined;
  if (ownSteps && !replicasOfShards.has(shardSet)) {
    await withKafkaAdmin(stepsKafka(), (admin) => admin.createTopics({ topics: [{ topic: steps, numPartitions: 3 }], waitForLeaders: true }));
  }
  const config = parseConfig(bookingConfigSchema, {
    ...(await commonEnv()),
    GRPC_PORT: String(port),
    BOOKING_SHARDS: shardSet,
    GRPC_CLIENT_DEADLINE_MS: "3000",
    ...(ownSteps ? { RESCHEDULE_TOPIC: steps, RESCHEDULE_CONSUMER_GROUP: `${steps}.booking` } : {}),
    ...env,
  });
  const service = await startBookingService(config, testLogger("booking"));
  if (ownSteps) replicasOfShards.set(shardSet, (replicasOfShards.get(shardSet) ?? 0) + 1);
  return {
    address: `127.0.0.1:${service.grpcPort}`,
    metricsPort: service.metricsPort,
    service,
    stop: async () => {
      await service.lifecycle.shutdown("test finished");
      if (!ownSteps) return;
      const left = (replicasOfShards.get(shardSet) ?? 1) - 1;
      if (left > 0) return void replicasOfShards.set(shardSet, left);
      replicasOfShards.delete(shardSet);
      await withKafkaAdmin(stepsKafka(), (admin) => admin.deleteTopics({ topics: [steps] })).catch(() => undefined);
    },
  };
}
