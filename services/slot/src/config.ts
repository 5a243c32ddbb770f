import { cacheConfigSchema } from "@clinic/platform/cache";
import { env, grpcClientConfigSchema, grpcServiceWithDatabaseConfigSchema, loadConfigOrExit, peerAddressConfigSchema } from "@clinic/platform/config";
import { TOPICS } from "@clinic/platform/kafka";
import { z } from "zod";

export const configSchema = grpcServiceWithDatabaseConfigSchema({ grpcPort: 50052, metricsPort: 9466, database: "clinic_slot" }).extend({
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
  /**
   * DOCTOR_ADDR: the doctor service, asked whether a doctor exists before slots are created for
   * them. BOOKING_ADDR: the booking service, which owns seat inventory: capacity changes and
   * deletes go there first.
   */
  ...peerAddressConfigSchema.pick({ DOCTOR_ADDR: true, BOOKING_ADDR: true }).shape,
  ...grpcClientConfigSchema.shape,
});

export type SlotConfig = z.output<typeof configSchema>;

export const loadConfig = (): SlotConfig => loadConfigOrExit(configSchema, "slot");
