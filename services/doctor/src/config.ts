import { cacheConfigSchema, commonConfigSchema, databaseConfigSchema, env, kafkaConfigSchema, loadConfigOrExit, TOPICS } from "@clinic/platform";
import { z } from "zod";

export const configSchema = commonConfigSchema.extend({
  ...databaseConfigSchema.shape,
  ...kafkaConfigSchema.shape,
  ...cacheConfigSchema.shape,
  /** ListDoctors responses (`doctors:all`); every doctor write drops them at once. */
  CACHE_DOCTORS_TTL_SECONDS: env.positiveInt().default(3_600),
  DOCTOR_EVENTS_TOPIC: z.string().default(TOPICS.doctorEvents),
  GRPC_PORT: env.port().default(50051),
  METRICS_PORT: env.port().default(9465),
  PGDATABASE: z.string().default("clinic_doctor"),
  /** The booking service, asked whether a doctor still has active bookings before a delete. */
  BOOKING_ADDR: env.hostPort().default("127.0.0.1:50053"),
  GRPC_CLIENT_DEADLINE_MS: env.positiveInt().default(2_000),
});

export type DoctorConfig = z.output<typeof configSchema>;

export const loadConfig = (): DoctorConfig => loadConfigOrExit(configSchema, "doctor");
