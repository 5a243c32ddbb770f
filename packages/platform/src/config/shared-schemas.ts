import { z } from "zod";
import { env } from "./env-fields";

/** Settings every service shares: logging, gRPC listener, metrics endpoint, shutdown drain. */
export const commonConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: env.logLevel().default("info"),
  GRPC_HOST: z.string().default("127.0.0.1"),
  GRPC_PORT: env.port(),
  METRICS_PORT: env.port(),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt().default(10_000),
  /** Time between reporting NOT_SERVING and closing the listener, for load balancers to notice. */
  SHUTDOWN_GRACE_MS: env.nonNegativeInt().default(0),
  /** Where the edge publishes the keys that verify access tokens forwarded in gRPC metadata. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8080/.well-known/jwks.json"),
  JWT_ISSUER: z.string().default("clinic-edge"),
  JWT_AUDIENCE: z.string().default("clinic-api"),
});

/** PostgreSQL connection, as libpq's own variable names so psql and the service agree. */
export const databaseConfigSchema = z.object({
  PGHOST: z.string().default("127.0.0.1"),
  PGPORT: env.port().default(5432),
  PGUSER: z.string(),
  PGPASSWORD: z.string(),
  DB_POOL_MIN: env.nonNegativeInt().default(0),
  DB_POOL_MAX: env.positiveInt().default(10),
  DB_STATEMENT_TIMEOUT_MS: env.positiveInt().default(5_000),
});

export const redisConfigSchema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
});

export const kafkaConfigSchema = z.object({
  KAFKA_BROKERS: env.list().pipe(z.array(env.hostPort())),
});

export type CommonConfig = z.output<typeof commonConfigSchema>;
export type DatabaseConfig = z.output<typeof databaseConfigSchema>;

/**
 * A gRPC service's settings: the shared ones, with its own listener and metrics ports as
 * defaults (each service has its place in the platform's port plan, which peers' address
 * defaults below follow).
 */
export const grpcServiceConfigSchema = (ports: { grpcPort: number; metricsPort: number }) =>
  commonConfigSchema.extend({
    GRPC_PORT: env.port().default(ports.grpcPort),
    METRICS_PORT: env.port().default(ports.metricsPort),
  });

/** A service's own PostgreSQL database: the shared connection settings and its database's name. */
export const ownDatabaseConfigSchema = (database: string) =>
  databaseConfigSchema.extend({
    PGDATABASE: z.string().default(database),
  });

/** A gRPC service with its own database and a Kafka client (for its outbox or its consumers). */
export const grpcServiceWithDatabaseConfigSchema = (service: { grpcPort: number; metricsPort: number; database: string }) =>
  grpcServiceConfigSchema(service).extend({
    ...ownDatabaseConfigSchema(service.database).shape,
    ...kafkaConfigSchema.shape,
  });

/** The platform's gRPC services by address; a service `pick`s the peers it calls. */
export const peerAddressConfigSchema = z.object({
  DOCTOR_ADDR: env.hostPort().default("127.0.0.1:50051"),
  SLOT_ADDR: env.hostPort().default("127.0.0.1:50052"),
  BOOKING_ADDR: env.hostPort().default("127.0.0.1:50053"),
  NOTIFIER_ADDR: env.hostPort().default("127.0.0.1:50054"),
});

/** Deadline of each call one service makes to another. */
export const grpcClientConfigSchema = z.object({
  GRPC_CLIENT_DEADLINE_MS: env.positiveInt().default(2_000),
});

export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
export type RedisConfig = z.output<typeof redisConfigSchema>;
