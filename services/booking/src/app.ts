import { readFileSync } from "node:fs";
import { startCache } from "@clinic/platform/cache";
import { createDatabase, createPoolMetrics, databaseSettingsFrom, migrateLatest, type Knex } from "@clinic/platform/db";
import { createKafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import type { OutboxRelay } from "@clinic/platform/outbox";
import { openGrpcClient, serveGrpc, openOutbox, startService, type RunningGrpcService } from "@clinic/platform/service";
import { slotV1 } from "@clinic/proto";
import { PolicyCache } from "./booking-policy";
import { RescheduleConsumer } from "./reschedule-consumer";
import { RescheduleSaga } from "./reschedule-saga";
import { migrations } from "../migrations";
import { createBookingMetrics, registerWaitlistGauge } from "./booking-metrics";
import { countWaitlistStates } from "./waitlist";
import { BookingShardRepository } from "./booking-repository";
import { BookingRouter } from "./booking-router";
import type { BookingConfig } from "./config";
import { ShardMaintenance } from "./maintenance";
import { bookingService } from "./grpc-handlers";
import { seatCountKey, type SeatCount } from "./seat-counts";
import { shardConnection } from "./shard-connection";
import { ShardMap } from "./shard-map";
import { SlotDirectory } from "./slot-directory";
import { SlotEventListener } from "./slot-event-listener";
import { ExpirySweeper } from "./sweeper";

export interface RunningBookingService extends RunningGrpcService {
  router: BookingRouter<BookingShardRepository>;
  sweeper: ExpirySweeper;
  relays: OutboxRelay[];
  slots: SlotDirectory;
  slotEvents: SlotEventListener;
  /** The reschedule sagas' step consumer (joined in the background). */
  rescheduleSteps: RescheduleConsumer;
}

function loadShardMap(config: BookingConfig): ShardMap {
  if (!config.BOOKING_SHARD_MAP_FILE) return ShardMap.roundRobin(config.BOOKING_SHARDS.length);
  return ShardMap.fromArray(JSON.parse(readFileSync(config.BOOKING_SHARD_MAP_FILE, "utf8")), config.BOOKING_SHARDS.length);
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Wires the booking service: one pool and one sweeper loop per shard, migrations on each. */
export function startBookingService(config: BookingConfig, logger?: Logger): Promise<RunningBookingService> {
  return startService({ name: "booking", config, logger }, async (service) => {
    const { lifecycle, logger: log, metrics } = service;
    const bookingMetrics = createBookingMetrics(metrics.registry);
    const map = loadShardMap(config);
    // With session addresses beside them, BOOKING_SHARDS are a transaction pooler's (PgBouncer).
    const pooled = config.BOOKING_SHARD_SESSIONS.length > 0;
    const pools: Knex[] = config.BOOKING_SHARDS.map((entry, index) =>
      createDatabase({
        ...databaseSettingsFrom(config, { ...shardConnection(config, entry), applicationName: `booking-shard-${index}` }),
        transactionPooled: pooled,
      }),
    );
    const replicaPools: Knex[] = config.BOOKING_SHARD_REPLICAS.map((entry, index) =>
      createDatabase(databaseSettingsFrom(config, { ...shardConnection(config, entry), applicationName: `booking-shard-${index}-replica` })),
    );
    // With a transaction pooler in BOOKING_SHARDS, a small direct pool per shard for what needs
    // a session of its own: the outbox relay's LISTEN, migrations, partition upkeep.
    const sessionPools: Knex[] = config.BOOKING_SHARD_SESSIONS.map((entry, index) =>
      createDatabase(databaseSettingsFrom({ ...config, DB_POOL_MAX: 2 }, { ...shardConnection(config, entry), applicationName: `booking-shard-${index}-session` })),
    );
    const sessionOf = (index: number): Knex => sessionPools[index] ?? pools[index]!;
    const poolMetrics = createPoolMetrics(metrics.registry);
    pools.forEach((db, index) => poolMetrics.add(`booking-shard-${index}`, db));
    replicaPools.forEach((db, index) => poolMetrics.add(`booking-shard-${index}-replica`, db));
    lifecycle.onShutdown("shard databases", "storage", () => Promise.all([...pools, ...replicaPools, ...sessionPools].map((db) => db.destroy())));
    const maintenance = new ShardMaintenance(
      pools.map((_, index) => ({ index, db: sessionOf(index) })),
      { monthsAhead: config.PARTITION_MONTHS_AHEAD, archiveAfterMonths: config.ARCHIVE_AFTER_MONTHS, intervalMs: config.MAINTENANCE_INTERVAL_MS },
      metrics.registry,
      log,
    );
    await Promise.all(
      pools.map(async (_, index) => {
        const applied = await migrateLatest(sessionOf(index), migrations);
        log.info({ shard: index, applied }, "shard migrated");
      }),
    );
    // Partitions exist before the first booking; archival runs in the background from the start.
    await maintenance.preparePartitions();
    const { cache } = await startCache(service);
    const seatCounts = cache.keyed<SeatCount>({ name: "availability", ttlSeconds: config.CACHE_AVAILABILITY_TTL_SECONDS, key: seatCountKey });
    // After every committed seat change; the seat itself never waits on Redis beyond that.
    const seatsChanged = (slotIds: readonly string[]) => seatCounts.invalidate(...slotIds);
    const shards = pools.map((db, index) => new BookingShardRepository(index, db, config.BOOKING_EVENTS_TOPIC, seatsChanged, replicaPools[index] ?? db, config.WAITLIST_OFFER_TTL_MS));
    const router = new BookingRouter(shards, map);
    registerWaitlistGauge(metrics.registry, shards.map((shard) => ({ index: shard.index, count: () => countWaitlistStates(shard.replicaDb) })));

    const slotClient = openGrpcClient(lifecycle, "slot client", slotV1.SlotServiceClient, {
      address: config.SLOT_ADDR,
      serviceName: "clinic.slot.v1.SlotService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["GetSlot", "BatchGetSlots"],
    });
    const slots = new SlotDirectory(slotClient, config.SLOT_CACHE_TTL_MS);
    const slotEvents = new SlotEventListener(
      createKafka({ clientId: "booking-slot-events", brokers: config.KAFKA_BROKERS, logger: log }),
      config.SLOT_EVENTS_TOPIC,
      {
        slotChanged: async (slotId) => {
          slots.invalidate(slotId);
          await seatCounts.invalidate(slotId);
        },
        resynchronize: () => slots.clear(),
      },
      log,
    );
    lifecycle.onShutdown("slot event listener", "workers", () => slotEvents.stop());

    const outbox = openOutbox(
      service,
      shards.map((shard) => ({ name: `booking-shard-${shard.index}`, db: shard.db, listenDb: sessionOf(shard.index) })),
      {
        batchSize: config.OUTBOX_BATCH_SIZE,
        idleMs: config.OUTBOX_IDLE_MS,
        minRoundGapMs: config.OUTBOX_MIN_ROUND_GAP_MS,
        retentionHours: config.OUTBOX_RETENTION_HOURS,
      },
    );

    const saga = new RescheduleSaga(router, config.RESCHEDULE_TOPIC, config.HOLD_TTL_MS, log);
    const rescheduleSteps = new RescheduleConsumer(
      createKafka({ clientId: "booking-reschedule-steps", brokers: config.KAFKA_BROKERS, logger: log }),
      { topic: config.RESCHEDULE_TOPIC, groupId: config.RESCHEDULE_CONSUMER_GROUP },
      saga,
      log,
    );
    lifecycle.onShutdown("reschedule step consumer", "workers", () => rescheduleSteps.stop());

    const sweeper = new ExpirySweeper(shards, { intervalMs: config.SWEEP_INTERVAL_MS, batchSize: config.SWEEP_BATCH_SIZE }, bookingMetrics, log);
    const purge = setInterval(() => {
      for (const shard of shards) {
        shard.purgeIdempotencyKeys(config.IDEMPOTENCY_TTL_HOURS).catch((err: unknown) => log.warn({ err, shard: shard.index }, "idempotency key purge failed"));
      }
    }, DAY_MS / 24);
    purge.unref();

    const running = await serveGrpc(service, [
      bookingService({
        router,
        slots,
        seatCounts,
        metrics: bookingMetrics,
        holdTtlMs: config.HOLD_TTL_MS,
        policies: new PolicyCache((doctorId) => router.forDoctor(doctorId).db, config.CANCELLATION_WINDOW_HOURS, config.POLICY_CACHE_TTL_MS),
        defaultWindowHours: config.CANCELLATION_WINDOW_HOURS,
        maxReschedules: config.RESCHEDULE_MAX,
        saga,
        sagaWaitMs: config.RESCHEDULE_WAIT_MS,
      }),
    ]);
    lifecycle.onShutdown("expiry sweeper", "workers", async () => {
      clearInterval(purge);
      await Promise.all([sweeper.stop(), maintenance.stop()]);
    });
    sweeper.start();
    maintenance.start();
    outbox.start();
    slotEvents.start();
    // In the background: booking never waits for Kafka; steps wait in the topic meanwhile.
    rescheduleSteps.start().catch((err: unknown) => log.error({ err }, "reschedule step consumer did not start; steps wait in Kafka"));
    return { ...running, router, sweeper, relays: outbox.relays, slots, slotEvents, rescheduleSteps };
  });
}
