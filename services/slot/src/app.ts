import {
  Lifecycle,
  createDatabase,
  createOutboxPublisher,
  createPoolMetrics,
  databaseSettingsFrom,
  createGrpcClient,
  createLogger,
  createServiceMetrics,
  migrateLatest,
  startServiceHost,
  type Logger,
  type ServiceHost,
} from "@clinic/platform";
import { bookingV1, descriptorSetPath, doctorV1 } from "@clinic/proto";
import { migrations } from "../migrations";
import type { SlotConfig } from "./config";
import { doctorDirectory, seatInventory } from "./downstream";
import { slotService } from "./server";
import { SlotRepository } from "./slot-repository";

export interface RunningService extends ServiceHost {
  lifecycle: Lifecycle;
}

/** Wires the slot service from its configuration; `main.ts` and tests both start it here. */
export async function startSlotService(config: SlotConfig, logger?: Logger): Promise<RunningService> {
  const log = logger ?? createLogger({ service: "slot", level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(log);
  const metrics = createServiceMetrics("slot");
  try {
    const db = createDatabase(databaseSettingsFrom(config, { database: config.PGDATABASE, applicationName: "slot" }));
    createPoolMetrics(metrics.registry).add("slot", db);
    lifecycle.onShutdown("database", "storage", () => db.destroy());
    const applied = await migrateLatest(db, migrations);
    log.info({ applied }, "migrations applied");
    const outbox = createOutboxPublisher({
      clientId: "slot",
      brokers: config.KAFKA_BROKERS,
      logger: log,
      registry: metrics.registry,
      lifecycle,
      databases: [{ name: "slot", db }],
    });

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
      services: [slotService(new SlotRepository(db, config.SLOT_EVENTS_TOPIC), doctorDirectory(doctor), seatInventory(booking))],
    });
    outbox.start();
    return { ...host, lifecycle };
  } catch (err) {
    // Release whatever was opened before the failing step, then report the failure.
    await lifecycle.shutdown("start-up failed");
    throw err;
  }
}
