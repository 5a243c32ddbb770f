import { startCache } from "@clinic/platform/cache";
import type { Logger } from "@clinic/platform/logging";
import { openGrpcClient, openOwnDatabaseWithOutbox, serveGrpc, startService, type RunningGrpcService } from "@clinic/platform/service";
import { bookingV1 } from "@clinic/proto";
import { migrations } from "../migrations";
import type { DoctorConfig } from "./config";
import { DoctorRepository, type DoctorRow } from "./doctor-repository";
import { activeBookingCounter } from "./booking-client";
import { DEFAULT_PAGE_SIZE, doctorService } from "./grpc-handlers";

export type RunningService = RunningGrpcService;

/** Wires the doctor service from its configuration; `main.ts` and tests both start it here. */
export function startDoctorService(config: DoctorConfig, logger?: Logger): Promise<RunningService> {
  return startService({ name: "doctor", config, logger }, async (service) => {
    const { db, outbox } = await openOwnDatabaseWithOutbox(service, migrations);
    const { cache } = await startCache(service);
    const repository = new DoctorRepository(
      db,
      config.DOCTOR_EVENTS_TOPIC,
      cache.lists<DoctorRow[]>({ name: "doctors", ttlSeconds: config.CACHE_DOCTORS_TTL_SECONDS }),
    );
    if (config.CACHE_WARM_ON_START) {
      // The first page of the unfiltered list, as ListDoctors asks for it (section 5.4): one
      // query, done before serving. Redis being down only means nothing is stored; warming is an
      // optimization, so not even a failed query stops the start.
      await repository.list({ limit: DEFAULT_PAGE_SIZE + 1 }).catch((err: unknown) => service.logger.warn({ err }, "cache warming failed"));
    }

    const booking = openGrpcClient(service.lifecycle, "booking client", bookingV1.BookingServiceClient, {
      address: config.BOOKING_ADDR,
      serviceName: "clinic.booking.v1.BookingService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["CountActiveBookings"],
    });

    const running = await serveGrpc(service, [
      doctorService(repository, activeBookingCounter(booking)),
    ]);
    outbox.start();
    return running;
  });
}
