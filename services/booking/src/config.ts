import { cacheConfigSchema } from "@clinic/platform/cache";
import {
  databaseConfigSchema,
  env,
  grpcClientConfigSchema,
  grpcServiceConfigSchema,
  kafkaConfigSchema,
  loadConfigOrExit,
  peerAddressConfigSchema,
} from "@clinic/platform/config";
import { TOPICS } from "@clinic/platform/kafka";
import { z } from "zod";

/**
 * A shard is either a database name on PGHOST:PGPORT (local stack) or `host:port/database`
 * (production: each shard's Patroni primary behind its own address).
 */
const shardEntry = z.string().regex(/^([^\s/:]+:\d{1,5}\/)?[A-Za-z_][A-Za-z0-9_]*$/, "expected database or host:port/database");

export const configSchema = grpcServiceConfigSchema({ grpcPort: 50053, metricsPort: 9467 }).extend({
  ...databaseConfigSchema.shape,
  ...kafkaConfigSchema.shape,
  ...cacheConfigSchema.shape,
  BOOKING_SHARDS: env.list().pipe(z.array(shardEntry)).default(["clinic_booking_0", "clinic_booking_1", "clinic_booking_2", "clinic_booking_3"]),
  /**
   * Each shard's replica address, in the order of BOOKING_SHARDS (HAProxy's replica port with
   * Patroni). Empty: every read goes to the primary.
   */
  BOOKING_SHARD_REPLICAS: env.list().pipe(z.array(shardEntry)).default([]),
  /**
   * Each shard's direct primary address, in the order of BOOKING_SHARDS, when BOOKING_SHARDS
   * goes through a transaction pooler (PgBouncer): what needs a session of its own uses it (the
   * outbox relay's LISTEN, migrations, partition upkeep and archival). Empty: BOOKING_SHARDS is
   * direct and serves those too.
   */
  BOOKING_SHARD_SESSIONS: env.list().pipe(z.array(shardEntry)).default([]),
  /** Monthly partitions of `bookings` kept ready this many months ahead. */
  PARTITION_MONTHS_AHEAD: env.positiveInt().default(3),
  /** Bookings created more than this many months ago (and no longer active) move to the archive. */
  ARCHIVE_AFTER_MONTHS: env.positiveInt().default(6),
  /** How often partition upkeep and archival run (one replica at a time per shard). */
  MAINTENANCE_INTERVAL_MS: env.positiveInt().default(3_600_000),
  /** Optional JSON file: an array of 4096 shard indexes (bucket -> shard). Default: round-robin. */
  BOOKING_SHARD_MAP_FILE: z.string().optional(),
  ...peerAddressConfigSchema.pick({ SLOT_ADDR: true }).shape,
  ...grpcClientConfigSchema.shape,
  /** How long a PENDING hold keeps its seat. */
  HOLD_TTL_MS: env.positiveInt().default(120_000),
  /**
   * Hours before a slot's start from which a patient can no longer cancel or reschedule a
   * confirmed booking, for doctors without their own rule (SetBookingPolicy). 0: until the start.
   */
  CANCELLATION_WINDOW_HOURS: env.nonNegativeInt().pipe(z.number().max(720)).default(24),
  /** How long a doctor's window is cached for the deadline shown on bookings (not for the check). */
  POLICY_CACHE_TTL_MS: env.nonNegativeInt().default(30_000),
  /** How long a seat offered to a waiting patient is held for them before it goes to the next. */
  WAITLIST_OFFER_TTL_MS: env.positiveInt().default(600_000),
  /** Moves allowed per booking (a rescheduled booking carries the count on). */
  RESCHEDULE_MAX: env.nonNegativeInt().default(3),
  /** The steps of moves to another doctor's slot (src/reschedule-saga.ts), and their consumer group. */
  RESCHEDULE_TOPIC: z.string().default(TOPICS.bookingReschedules),
  RESCHEDULE_CONSUMER_GROUP: z.string().default("booking-reschedules"),
  /** How long a reschedule request waits for such a move to end before answering RESCHEDULE_IN_PROGRESS. */
  RESCHEDULE_WAIT_MS: env.positiveInt().default(5_000),
  SWEEP_INTERVAL_MS: env.positiveInt().default(1_000),
  SWEEP_BATCH_SIZE: env.positiveInt().default(500),
  /**
   * Slot details (doctor, times) cached in-process; seats are never read from this cache. Slot
   * events invalidate it; the TTL covers events missed while Kafka was away.
   */
  SLOT_CACHE_TTL_MS: env.nonNegativeInt().default(30_000),
  /** GetAvailability per slot (`slot:{id}:bookings:count`); every seat change invalidates it. */
  CACHE_AVAILABILITY_TTL_SECONDS: env.positiveInt().default(60),
  /** The slot service's events, consumed by every replica to invalidate its slot directory. */
  SLOT_EVENTS_TOPIC: z.string().default(TOPICS.slotEvents),
  IDEMPOTENCY_TTL_HOURS: env.positiveInt().default(24),
  BOOKING_EVENTS_TOPIC: z.string().default(TOPICS.bookingEvents),
  /** Events per Kafka batch, and the fallback poll of a shard's outbox (relays are woken by NOTIFY). */
  OUTBOX_BATCH_SIZE: env.positiveInt().default(500),
  OUTBOX_IDLE_MS: env.positiveInt().default(1_000),
  /** Least time between two relay rounds of a shard: under load, each round carries many commits' events. */
  OUTBOX_MIN_ROUND_GAP_MS: env.nonNegativeInt().default(200),
  OUTBOX_RETENTION_HOURS: env.positiveInt().default(24),
});

export const validatedSchema = configSchema
  .refine((c) => c.BOOKING_SHARD_REPLICAS.length === 0 || c.BOOKING_SHARD_REPLICAS.length === c.BOOKING_SHARDS.length, {
    path: ["BOOKING_SHARD_REPLICAS"],
    message: "must name one replica address per shard of BOOKING_SHARDS, or none",
  })
  .refine((c) => c.BOOKING_SHARD_SESSIONS.length === 0 || c.BOOKING_SHARD_SESSIONS.length === c.BOOKING_SHARDS.length, {
    path: ["BOOKING_SHARD_SESSIONS"],
    message: "must name one direct address per shard of BOOKING_SHARDS, or none",
  });

export type BookingConfig = z.output<typeof configSchema>;

export const loadConfig = (): BookingConfig => loadConfigOrExit(validatedSchema, "booking");
