import {
  startOrRelease,
  Lifecycle,
  openServiceDatabase,
  createOutboxPublisher,
  createGrpcClient,
  createLogger,
  createServiceMetrics,
  startCache,
  startServiceHost,
  type Logger,
  type ServiceHost,
} from "@clinic/platform";
import { bookingV1, descriptorSetPath, doctorV1 } from "@clinic/proto";
import { migrations } from "../migrations";
import type { SlotConfig } from "./config";
import { seatInventory } from "./booking-client";
import { doctorDirectory } from "./doctor-client";
import { SlotCacheWarmer } from "./cache-warmer";
import { slotService } from "./grpc-handlers";
import { SlotRepository, slotKey, type SlotRow } from "./slot-repository";

export interface RunningService extends ServiceHost {
  lifecycle: Lifecycle;
  /** Start-up warming of `slot:{id}`, running in the background. */
  warmer: SlotCacheWarmer;
}

/** Wires the slot service from its configuration; `main.ts` and tests both start it here. */
export async function startSlotService(config: SlotConfig, logger?: Logger): Promise<RunningService> {
  const log = logger ?? createLogger({ service: "slot", level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(log);
  const metrics = createServiceMetrics("slot");
  return startOrRelease(lifecycle, async () => {
    const db = await openServiceDatabase({
      config,
      database: config.PGDATABASE,
      name: "slot",
      migrations,
      lifecycle,
      registry: metrics.registry,
      logger: log,
    });
    const outbox = createOutboxPublisher({
      clientId: "slot",
      brokers: config.KAFKA_BROKERS,
      logger: log,
      registry: metrics.registry,
      lifecycle,
      databases: [{ name: "slot", db }],
    });

    const { cache } = await startCache({ config, logger: log, registry: metrics.registry, lifecycle });
    const slotCache = cache.keyed<SlotRow>({ name: "slot", ttlSeconds: config.CACHE_SLOT_TTL_SECONDS, key: slotKey });
    const repository = new SlotRepository(db, config.SLOT_EVENTS_TOPIC, {
      slots: slotCache,
      lists: cache.lists<SlotRow[]>({ name: "doctor_slots", ttlSeconds: config.CACHE_DOCTOR_SLOTS_TTL_SECONDS }),
    });
    const warmer = new SlotCacheWarmer(
      repository,
      cache,
      slotCache,
      { days: config.CACHE_WARM_DAYS, maxSlots: config.CACHE_WARM_MAX_SLOTS, batchSize: config.CACHE_WARM_BATCH_SIZE },
      log,
    );
    lifecycle.onShutdown("cache warmer", "workers", () => warmer.stop());

    const doctor = createGrpcClient(doctorV1.DoctorServiceClient, {
      address: config.DOCTOR_ADDR,
      serviceName: "clinic.doctor.v1.DoctorService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["GetDoctor"],
    });
    lifecycle.onShutdown("doctor client", "clients", async () => doctor.close());
    // Both calls set an absolute state (a capacity, "retired"), so repeating one is harmless.
    const booking = createGrpcClient(bookingV1.BookingServiceClient, {
      address: config.BOOKING_ADDR,
      serviceName: "clinic.booking.v1.BookingService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["SetSlotCapacity", "RetireSlot"],
    });
    lifecycle.onShutdown("booking client", "clients", async () => booking.close());

    const host = await startServiceHost({
      config,
      logger: log,
      metrics,
      lifecycle,
      descriptorSetPath,
      services: [slotService(repository, doctorDirectory(doctor), seatInventory(booking))],
    });
    outbox.start();
    if (config.CACHE_WARM_ON_START) warmer.start();
    return { ...host, lifecycle, warmer };
  });
}
