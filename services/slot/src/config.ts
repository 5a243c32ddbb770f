import { cacheConfigSchema, commonConfigSchema, databaseConfigSchema, env, kafkaConfigSchema, loadConfigOrExit, TOPICS } from "@clinic/platform";
import { z } from "zod";

export const configSchema = commonConfigSchema.extend({
  ...databaseConfigSchema.shape,
  ...kafkaConfigSchema.shape,
  ...cacheConfigSchema.shape,
  /** GetSlot and BatchGetSlots (`slot:{id}`). */
  CACHE_SLOT_TTL_SECONDS: env.positiveInt().default(300),
  /** ListSlots (`doctor:{id}:slots`, one generation per doctor). */
  CACHE_DOCTOR_SLOTS_TTL_SECONDS: env.positiveInt().default(1_800),
  /** Start-up warming of `slot:{id}`: slots starting within this many days, at most this many. */
  CACHE_WARM_DAYS: env.positiveInt().default(30),
  CACHE_WARM_MAX_SLOTS: env.nonNegativeInt().default(10_000),
  CACHE_WARM_BATCH_SIZE: env.positiveInt().default(500),
  SLOT_EVENTS_TOPIC: z.string().default(TOPICS.slotEvents),
  GRPC_PORT: env.port().default(50052),
  METRICS_PORT: env.port().default(9466),
  PGDATABASE: z.string().default("clinic_slot"),
  /** The doctor service, asked whether a doctor exists before slots are created for them. */
  DOCTOR_ADDR: env.hostPort().default("127.0.0.1:50051"),
  /** The booking service, which owns seat inventory: capacity changes and deletes go there first. */
  BOOKING_ADDR: env.hostPort().default("127.0.0.1:50053"),
  GRPC_CLIENT_DEADLINE_MS: env.positiveInt().default(2_000),
});

export type SlotConfig = z.output<typeof configSchema>;

export const loadConfig = (): SlotConfig => loadConfigOrExit(configSchema, "slot");
