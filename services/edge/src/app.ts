import type { AddressInfo } from "node:net";
import { createKafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import { startMetricsServer } from "@clinic/platform/metrics";
import { connectRedis } from "@clinic/platform/redis";
import { startService, type Lifecycle } from "@clinic/platform/service";
import { startAuth, type AuthService } from "./auth";
import { createBackends } from "./backends";
import type { EdgeConfig } from "./config";
import { SignInThrottle } from "./auth/sign-in-throttle";
import { createLiveAvailability } from "./live/create-live-availability";
import type { LiveAvailability } from "./live/live-availability";
import { SeatEventFeed } from "./live/seat-event-feed";
import { createRateLimiter } from "./rate-limit";
import { buildServer, type ServerState } from "./http-server";
import type { EdgeFastify } from "./type-provider";

export interface RunningEdge {
  /** The HTTP port actually bound (useful when HTTP_PORT is 0). */
  port: number;
  metricsPort: number;
  lifecycle: Lifecycle;
  /** For tests: the Fastify instance (inject, route table, OpenAPI document). */
  http: EdgeFastify;
  auth: AuthService;
  /** Live availability streams and the event feed behind them (tests look inside). */
  live: LiveAvailability;
  liveFeed: SeatEventFeed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wires the edge from its configuration; `main.ts` and tests both start it here. */
export function startEdge(config: EdgeConfig, logger?: Logger): Promise<RunningEdge> {
  const state: ServerState = { draining: false, closing: false };
  return startService({ name: "edge", config, logger }, async ({ lifecycle, logger: log, metrics }) => {
    // gRPC channels connect lazily: the edge starts (and reports not ready) while a backend is down.
    const backends = createBackends(config);
    lifecycle.onShutdown("grpc clients", "clients", async () => backends.close());
    const auth = await startAuth({ config, lifecycle, registry: metrics.registry, logger: log });
    const redis = await connectRedis({
      url: config.REDIS_URL,
      logger: log,
      lifecycle,
      commandTimeoutMs: config.RATE_LIMIT_REDIS_TIMEOUT_MS,
      unavailableMessage: "starting without Redis: rate limits are counted per replica until it answers",
    });
    const limiter = createRateLimiter({
      redis,
      keyPrefix: config.RATE_LIMIT_KEY_PREFIX,
      timeoutMs: config.RATE_LIMIT_REDIS_TIMEOUT_MS,
      policies: {
        flood: { limit: config.RATE_LIMIT_FLOOD_PER_SECOND, windowSeconds: 1 },
        anonymous: { limit: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE, windowSeconds: 60 },
        account: { limit: config.RATE_LIMIT_ACCOUNT_PER_MINUTE, windowSeconds: 60 },
      },
      registry: metrics.registry,
      logger: log,
    });
    const signInThrottle = new SignInThrottle({
      redis,
      keyPrefix: config.RATE_LIMIT_KEY_PREFIX,
      maxFailures: config.SIGN_IN_MAX_FAILURES,
      windowSeconds: config.SIGN_IN_FAILURE_WINDOW_SECONDS,
      registry: metrics.registry,
      logger: log,
    });
    const live = createLiveAvailability(config, backends, metrics.registry, log);
    // Every replica reads every booking and slot event (for the slots its own streams watch).
    // In the background: the API serves while Kafka is away, and streams catch up once it is back.
    const liveFeed = new SeatEventFeed({
      kafka: createKafka({ clientId: "edge-live", brokers: config.KAFKA_BROKERS, logger: log }),
      bookingEventsTopic: config.BOOKING_EVENTS_TOPIC,
      slotEventsTopic: config.SLOT_EVENTS_TOPIC,
      live,
      logger: log,
    });
    lifecycle.onShutdown("live availability feed", "workers", () => liveFeed.stop());
    liveFeed.start();
    const http = await buildServer({ config, logger: log, backends, registry: metrics.registry, state, auth, limiter, signInThrottle, live });
    // Stop taking traffic and drain it before the clients it uses go away.
    lifecycle.onShutdown("http server", "traffic", async () => {
      state.draining = true; // /readyz now fails, so load balancers stop sending new requests
      await sleep(config.SHUTDOWN_GRACE_MS);
      state.closing = true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), config.SHUTDOWN_TIMEOUT_MS);
      });
      const closed = http.close().then(() => false);
      const forced = await Promise.race([closed, timedOut]);
      clearTimeout(timer);
      if (forced) {
        log.warn("in-flight HTTP requests outlived the shutdown timeout and were cut off");
        http.server.closeAllConnections();
        await closed;
      }
    });
    const metricsServer = await startMetricsServer(metrics.registry, config.METRICS_PORT, config.HTTP_HOST);
    lifecycle.onShutdown("metrics server", "telemetry", () => metricsServer.close());
    await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
    const port = (http.server.address() as AddressInfo).port;
    log.info({ port, metricsPort: metricsServer.port }, "serving");
    return { port, metricsPort: metricsServer.port, lifecycle, http, auth, live, liveFeed };
  });
}
