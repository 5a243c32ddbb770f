import { cacheConfigSchema } from "@clinic/platform/cache";
import { env, grpcClientConfigSchema, grpcServiceWithDatabaseConfigSchema, loadConfigOrExit, peerAddressConfigSchema } from "@clinic/platform/config";
import { TOPICS } from "@clinic/platform/kafka";
import { z } from "zod";

export const configSchema = grpcServiceWithDatabaseConfigSchema({ grpcPort: 50051, metricsPort: 9465, database: "clinic_doctor" }).extend({
  ...cacheConfigSchema.shape,
  /** ListDoctors responses (`doctors:all`); every doctor write drops them at once. */
  CACHE_DOCTORS_TTL_SECONDS: env.positiveInt().default(3_600),
  DOCTOR_EVENTS_TOPIC: z.string().default(TOPICS.doctorEvents),
  /** The booking service, asked whether a doctor still has active bookings before a delete. */
  ...peerAddressConfigSchema.pick({ BOOKING_ADDR: true }).shape,
  ...grpcClientConfigSchema.shape,
});

export type DoctorConfig = z.output<typeof configSchema>;

export const loadConfig = (): DoctorConfig => loadConfigOrExit(configSchema, "doctor");
