import { startCache } from "@clinic/platform/cache";
import type { Logger } from "@clinic/platform/logging";
import { openGrpcClient, openOwnDatabaseWithOutbox, serveGrpc, startService, type RunningGrpcService } from "@clinic/platform/service";
import { bookingV1, doctorV1 } from "@clinic/proto";
import { migrations } from "../migrations";
import type { SlotConfig } from "./config";
import { seatInventory } from "./booking-client";
import { doctorDirectory } from "./doctor-client";
import { SlotCacheWarmer } from "./cache-warmer";
import { slotService } from "./grpc-handlers";
import { SlotRepository, slotKey, type SlotRow } from "./slot-repository";

export interface RunningService extends RunningGrpcService {
  /** Start-up warming of `slot:{id}`, running in the background. */
  warmer: SlotCacheWarmer;
}

/** Wires the slot service from its configuration; `main.ts` and tests both start it here. */
export function startSlotService(config: SlotConfig, logger?: Logger): Promise<RunningService> {
  return startService({ name: "slot", config, logger }, async (service) => {
    const { db, outbox } = await openOwnDatabaseWithOutbox(service, migrations);
    const { cache } = await startCache(service);
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
      service.logger,
    );
    service.lifecycle.onShutdown("cache warmer", "workers", () => warmer.stop());

    const doctor = openGrpcClient(service.lifecycle, "doctor client", doctorV1.DoctorServiceClient, {
      address: config.DOCTOR_ADDR,
      serviceName: "clinic.doctor.v1.DoctorService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["GetDoctor"],
    });
    // Both calls set an absolute state (a capacity, "retired"), so repeating one is harmless.
    const booking = openGrpcClient(service.lifecycle, "booking client", bookingV1.BookingServiceClient, {
      address: config.BOOKING_ADDR,
      serviceName: "clinic.booking.v1.BookingService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["SetSlotCapacity", "RetireSlot"],
    });

    const running = await serveGrpc(service, [slotService(repository, doctorDirectory(doctor), seatInventory(booking))]);
    outbox.start();
    if (config.CACHE_WARM_ON_START) warmer.start();
    return { ...running, warmer };
  });
}
