import { commonConfigSchema, env, loadConfigOrExit } from "@clinic/platform";
import { z } from "zod";

/**
 * The edge serves HTTP, not gRPC, so the shared gRPC listener settings are dropped and HTTP ones
 * take their place; logging, metrics and shutdown settings are the ones every service shares.
 */
export const configSchema = commonConfigSchema.omit({ GRPC_HOST: true, GRPC_PORT: true }).extend({
  /** Loopback by default; a container sets 0.0.0.0. The metrics endpoint listens on it too. */
  HTTP_HOST: z.string().default("127.0.0.1"),
  HTTP_PORT: env.port().default(8080),
  METRICS_PORT: env.port().default(9464),
  DOCTOR_ADDR: env.hostPort().default("127.0.0.1:50051"),
  SLOT_ADDR: env.hostPort().default("127.0.0.1:50052"),
  BOOKING_ADDR: env.hostPort().default("127.0.0.1:50053"),
  /** Notifications and dead letters (admin routes only; readiness does not depend on it). */
  NOTIFIER_ADDR: env.hostPort().default("127.0.0.1:50054"),
  /** Deadline of every gRPC call made for an HTTP request. */
  GRPC_DEADLINE_MS: env.positiveInt().default(5_000),
  /** Deadline of each backend's health check behind `/readyz`. */
  READINESS_TIMEOUT_MS: env.positiveInt().default(1_000),
  /** Largest request body accepted; larger ones are answered 413 without being read. */
  HTTP_BODY_LIMIT_BYTES: env.positiveInt().default(64 * 1024),
  /** Time a client gets to send a whole request (slow-client protection). */
  HTTP_REQUEST_TIMEOUT_MS: env.positiveInt().default(30_000),
  /** Idle keep-alive connections are closed after this long. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: env.positiveInt().default(65_000),
});

export type EdgeConfig = z.output<typeof configSchema>;

export const loadConfig = (): EdgeConfig => loadConfigOrExit(configSchema, "edge");
