/** @clinic/platform/config: Configuration from the environment: parsing against a zod schema, field types, and the fragments every service's schema is built from. */
export { env } from "./env-fields";
export { ConfigError, loadConfigOrExit, parseConfig } from "./parse-config";
export {
  type CommonConfig,
  commonConfigSchema,
  type DatabaseConfig,
  databaseConfigSchema,
  grpcClientConfigSchema,
  grpcServiceConfigSchema,
  grpcServiceWithDatabaseConfigSchema,
  type KafkaConfig,
  kafkaConfigSchema,
  ownDatabaseConfigSchema,
  peerAddressConfigSchema,
  type RedisConfig,
  redisConfigSchema,
} from "./shared-schemas";
