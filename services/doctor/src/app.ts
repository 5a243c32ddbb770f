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
import { bookingV1, descriptorSetPath } from "@clinic/proto";
import { migrations } from "../migrations";
import type { DoctorConfig } from "./config";
import { DoctorRepository, type DoctorRow } from "./doctor-repository";
import { activeBookingCounter } from "./booking-client";
import { DEFAULT_PAGE_SIZE, doctorService } from "./grpc-handlers";

export interface RunningService extends ServiceHost {
  lifecycle: Lifecycle;
}

/** Wires the doctor service from its configuration; `main.ts` and tests both start it here. */
export async function startDoctorService(config: DoctorConfig, logger?: Logger): Promise<RunningService> {
  const log = logger ?? createLogger({ service: "doctor", level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(log);
  const metrics = createServiceMetrics("doctor");
  return startOrRelease(lifecycle, async () => {
    const db = await openServiceDatabase({
      config,
      database: config.PGDATABASE,
      name: "doctor",
      migrations,
      lifecycle,
      registry: metrics.registry,
      logger: log,
    });
    const outbox = createOutboxPublisher({
      clientId: "doctor",
      brokers: config.KAFKA_BROKERS,
      logger: log,
      registry: metrics.registry,
      lifecycle,
      databases: [{ name: "doctor", db }],
    });

    const { cache } = await startCache({ config, logger: log, registry: metrics.registry, lifecycle });
    const repository = new DoctorRepository(
      db,
      config.DOCTOR_EVENTS_TOPIC,
      cache.lists<DoctorRow[]>({ name: "doctors", ttlSeconds: config.CACHE_DOCTORS_TTL_SECONDS }),
    );
    if (config.CACHE_WARM_ON_START) {
      // The first page of the unfiltered list, as ListDoctors asks for it (section 5.4): one
      // query, done before serving. Redis being down only means nothing is stored; warming is an
      // optimization, so not even a failed query stops the start.
      await repository.list({ limit: DEFAULT_PAGE_SIZE + 1 }).catch((err: unknown) => log.warn({ err }, "cache warming failed"));
    }

    const booking = createGrpcClient(bookingV1.BookingServiceClient, {
      address: config.BOOKING_ADDR,
      serviceName: "clinic.booking.v1.BookingService",
      deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
      idempotentMethods: ["CountActiveBookings"],
    });
    lifecycle.onShutdown("booking client", "clients", async () => booking.close());

    const host = await startServiceHost({
      config,
      logger: log,
      metrics,
      lifecycle,
      descriptorSetPath,
      services: [
        doctorService(repository, activeBookingCounter(booking)),
      ],
    });
    outbox.start();
    return { ...host, lifecycle };
  });
}
