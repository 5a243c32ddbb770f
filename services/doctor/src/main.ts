import {
  Lifecycle,
  createDatabase,
  createGrpcClient,
  createLogger,
  createServiceMetrics,
  migrateLatest,
  runMain,
  startServiceHost,
  unary,
} from "@clinic/platform";
import { bookingV1, descriptorSetPath } from "@clinic/proto";
import { migrations } from "../migrations";
import { loadConfig } from "./config";
import { DoctorRepository } from "./doctor-repository";
import { doctorService } from "./server";

runMain("doctor", async () => {
  const config = loadConfig();
  const logger = createLogger({ service: "doctor", level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  lifecycle.installSignalHandlers();
  const metrics = createServiceMetrics("doctor");

  const db = createDatabase({
    host: config.PGHOST,
    port: config.PGPORT,
    user: config.PGUSER,
    password: config.PGPASSWORD,
    database: config.PGDATABASE,
    poolMin: config.DB_POOL_MIN,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: "doctor",
  });
  lifecycle.onShutdown("database", () => db.destroy());
  const applied = await migrateLatest(db, migrations);
  logger.info({ applied }, "migrations applied");

  const booking = createGrpcClient(bookingV1.BookingServiceClient, {
    address: config.BOOKING_ADDR,
    serviceName: "clinic.booking.v1.BookingService",
    deadlineMs: config.GRPC_CLIENT_DEADLINE_MS,
    idempotentMethods: ["CountActiveBookings"],
  });
  lifecycle.onShutdown("booking client", async () => booking.close());

  await startServiceHost({
    config,
    logger,
    metrics,
    lifecycle,
    descriptorSetPath,
    services: [
      doctorService(new DoctorRepository(db), {
        countActiveBookings: async (doctorId) =>
          (await unary(booking.countActiveBookings.bind(booking), { doctorId })).count,
      }),
    ],
  });
});
