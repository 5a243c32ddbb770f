import { randomUUID } from "node:crypto";
import { parseConfig } from "@clinic/platform/config";
import { type Admin, createKafka } from "@clinic/platform/kafka";
import type { Logger } from "@clinic/platform/logging";
import type { Lifecycle } from "@clinic/platform/service";
import { configSchema as bookingConfigSchema, startBookingService, type RunningBookingService } from "@clinic/booking-service";
import { configSchema as doctorConfigSchema, startDoctorService } from "@clinic/doctor-service";
import { configSchema as edgeConfigSchema, startEdge, type RunningEdge } from "@clinic/edge-service";
import { configSchema as notifierConfigSchema, startNotifierService } from "@clinic/notifier-service";
import { configSchema as slotConfigSchema, startSlotService } from "@clinic/slot-service";
import { Fixtures } from "./fixtures";
import { freePort } from "./free-port";
import { withKafkaAdmin } from "./kafka-admin";
import { Http, edgeSigner, type Signer } from "./http-client";
import { createScratchDatabase, type ScratchDatabase } from "./scratch-database";
import { TestSmsProvider } from "./sms-provider";
import { TestSmtpServer } from "./smtp-server";
import { stackEnv, stackServiceEnv, testLogger, uniqueKeyPrefix } from "./stack-env";

/**
 * The whole platform in this process, for end-to-end tests over real HTTP on loopback: the
 * doctor, slot and booking services over their own scratch databases (booking over four shard
 * databases, publishing its events to the test stack's Kafka) and the edge in front. Nothing
 * is faked.
 */
export interface Stack {
  /** `http://127.0.0.1:<port>` of the edge. */
  baseUrl: string;
  edge: RunningEdge;
  booking: RunningBookingService;
  startBookingReplica(): Promise<RunningBookingService>;
  /** This stack's own topic of reschedule saga steps. */
  rescheduleTopic: string;
  /** The booking shard databases, in shard order. */
  shardDbs: ScratchDatabase[];
  /** The edge's own database (accounts, audit log). */
  edgeDb: ScratchDatabase;
  /** Present when started with the `notifier` option. */
  notifier?: RunningNotifier;
  /** Each running service's /metrics port. */
  metricsPorts: Partial<Record<"edge" | "doctor" | "slot" | "booking" | "notifier", number>>;
  /** Access tokens signed by the edge's own key, for any identity (no account rows needed). */
  signer: Signer;
  /** An HTTP client of the edge acting as an admin; `.asPatient(id)`, `.as(...)`, `.anonymous()` for others. */
  http(): Http;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** A short name for the scratch databases (lower-case letters, digits, `_`). */
  name: string;
  /** Extra booking settings, e.g. `{ HOLD_TTL_MS: "1500" }`. */
  booking?: Record<string, string>;
  /** Extra edge settings. */
  edge?: Record<string, string>;
  /** Another Kafka than the test stack's (e.g. one a test stops and restarts). */
  kafkaBrokers?: string;
  /**
   * Also run the notifier, consuming these topics, with a real SMTP server and a real HTTP SMS
   * provider on loopback; booking publishes its events to `eventsTopic`.
   */
  notifier?: { eventsTopic: string; dlqTopic: string; group: string };
  /** Each service's logger (default: silent unless TEST_LOG_LEVEL says otherwise). */
  logger?: (service: string) => Logger;
}

export interface RunningNotifier {
  smtp: TestSmtpServer;
  sms: TestSmsProvider;
  lifecycle: Lifecycle;
  address: string;
  metricsPort: number;
}

const serviceEnv = (kafkaBrokers = stackEnv("KAFKA_BROKERS"), cacheKeyPrefix = "", jwksUrl = ""): Record<string, string> => ({
  ...stackServiceEnv(),
  KAFKA_BROKERS: kafkaBrokers,
  // Services verify forwarded tokens against the edge's keys.
  ...(jwksUrl ? { AUTH_JWKS_URL: jwksUrl } : {}),
  // Parallel test stacks share the test Redis; each keeps its cache keys to itself.
  CACHE_KEY_PREFIX: cacheKeyPrefix,
});

export const SHARD_COUNT = 4;

/**
 * Starts every service. The services call each other (slot <-> booking, doctor -> booking), so
 * their gRPC ports are chosen up front; clients connect lazily, so start order does not matter.
 * The edge listens on port 0. On any failure, whatever was started is stopped again.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const cachePrefix = uniqueKeyPrefix(options.name);
  const logger = options.logger ?? testLogger;
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    // Reverse start order: the edge first, databases last.
    for (const step of stops.splice(0).reverse()) await step();
  };
  const scratch = async (suffix: string): Promise<ScratchDatabase> => {
    const db = await createScratchDatabase(`${options.name}_${suffix}`);
    stops.push(() => db.drop());
    return db;
  };
  const withLifecycle = <T extends { lifecycle: Lifecycle }>(service: T): T => {
    stops.push(() => service.lifecycle.shutdown("test finished"));
    return service;
  };

  let jwksUrl = "";

  const kafka = createKafka({ clientId: "e2e-harness", brokers: (options.kafkaBrokers ?? stackEnv("KAFKA_BROKERS")).split(","), logger: testLogger() });
  const withAdmin = (work: (admin: Admin) => Promise<unknown>) => withKafkaAdmin(kafka, work);
  /**
   * Topics that consumers subscribe to must exist (production creates them up front); these are
   * this stack's own and go when it stops.
   */
  async function ownTopics(topics: { topic: string; numPartitions: number }[]): Promise<void> {
    await withAdmin((admin) => admin.createTopics({ topics, waitForLeaders: true }));
    stops.push(() => withAdmin((admin) => admin.deleteTopics({ topics: topics.map((t) => t.topic) })).catch(() => undefined));
  }

  async function startNotifier(topics: NonNullable<StackOptions["notifier"]>): Promise<RunningNotifier> {
    await ownTopics([
      { topic: topics.eventsTopic, numPartitions: 3 },
      { topic: topics.dlqTopic, numPartitions: 1 },
    ]);
    const smtp = new TestSmtpServer();
    const sms = new TestSmsProvider();
    await smtp.start();
    stops.push(() => smtp.stop());
    await sms.start();
    stops.push(() => sms.stop());
    const db = await scratch("notifier");
    const service = withLifecycle(
      await startNotifierService(
        parseConfig(notifierConfigSchema, {
          ...serviceEnv(options.kafkaBrokers, cachePrefix, jwksUrl),
          PGDATABASE: db.name,
          GRPC_PORT: "0",
          METRICS_PORT: "0",
          BOOKING_EVENTS_TOPIC: topics.eventsTopic,
          DLQ_TOPIC: topics.dlqTopic,
          CONSUMER_GROUP: topics.group,
          SMTP_HOST: "127.0.0.1",
          SMTP_PORT: String(smtp.port),
          SMTP_FROM: "Clinic <notify@clinic.example>",
          SMS_PROVIDER_URL: sms.url,
          RETRY_BASE_DELAY_MS: "200",
          RETRY_MAX_DELAY_MS: "1000",
        }),
        logger("notifier"),
      ),
    );
    return { smtp, sms, lifecycle: service.lifecycle, address: `127.0.0.1:${service.grpcPort}`, metricsPort: service.metricsPort };
  }

  try {
    const [doctorPort, slotPort, bookingPort, edgePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const address = (port: number) => `127.0.0.1:${port}`;
    jwksUrl = `http://127.0.0.1:${edgePort}/.well-known/jwks.json`;
    const doctorDb = await scratch("doctor");
    const slotDb = await scratch("slot");
    const shardDbs: ScratchDatabase[] = [];
    for (let i = 0; i < SHARD_COUNT; i++) shardDbs.push(await scratch(`shard${i}`));

    /** A gRPC service's settings on this stack: its database, its port, metrics on any port. */
    const grpcServiceEnv = (db: ScratchDatabase, port: number) => ({
      ...serviceEnv(options.kafkaBrokers, cachePrefix, jwksUrl),
      PGDATABASE: db.name,
      GRPC_PORT: String(port),
      METRICS_PORT: "0",
    });
    const doctorEnv = { ...grpcServiceEnv(doctorDb, doctorPort), BOOKING_ADDR: address(bookingPort) };
    const doctor = withLifecycle(await startDoctorService(parseConfig(doctorConfigSchema, doctorEnv), logger("doctor")));
    const slotEnv = {
      ...grpcServiceEnv(slotDb, slotPort),
      DOCTOR_ADDR: address(doctorPort),
      BOOKING_ADDR: address(bookingPort),
      GRPC_CLIENT_DEADLINE_MS: "10000",
    };
    const slot = withLifecycle(await startSlotService(parseConfig(slotConfigSchema, slotEnv), logger("slot")));
    // The reschedule sagas' steps: a topic and group of this stack's own, so no other stack's
    // booking service (another test file on the same Kafka) takes this one's steps.
    const reschedules = `e2e.reschedules.${options.name}.${randomUUID().slice(0, 8)}`;
    await ownTopics([{ topic: reschedules, numPartitions: 3 }]);
    const bookingEnv = {
      ...serviceEnv(options.kafkaBrokers, cachePrefix, jwksUrl),
      GRPC_PORT: String(bookingPort),
      METRICS_PORT: "0",
      BOOKING_SHARDS: shardDbs.map((db) => db.name).join(","),
      SLOT_ADDR: address(slotPort),
      GRPC_CLIENT_DEADLINE_MS: "10000",
      ...(options.notifier ? { BOOKING_EVENTS_TOPIC: options.notifier.eventsTopic } : {}),
      RESCHEDULE_TOPIC: reschedules,
      RESCHEDULE_CONSUMER_GROUP: `${reschedules}.booking`,
      ...options.booking,
    };
    const booking = withLifecycle(await startBookingService(parseConfig(bookingConfigSchema, bookingEnv), logger("booking")));
    /** Another replica of the booking service on the same shards and topics (stopped with the stack). */
    const startBookingReplica = async (): Promise<RunningBookingService> =>
      withLifecycle(await startBookingService(parseConfig(bookingConfigSchema, { ...bookingEnv, GRPC_PORT: String(await freePort()) }), logger("booking")));
    const notifier = options.notifier ? await startNotifier(options.notifier) : undefined;
    const edgeDb = await scratch("edge");
    const edge = withLifecycle(
      await startEdge(
        parseConfig(edgeConfigSchema, {
          ...serviceEnv(options.kafkaBrokers, cachePrefix),
          PGDATABASE: edgeDb.name,
          HTTP_PORT: String(edgePort),
          METRICS_PORT: "0",
          // Limits are tested on their own (services/edge/test/rate-limit-http.test.ts); here they
          // would only throttle the tests' own traffic from 127.0.0.1.
          RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000000",
          RATE_LIMIT_ACCOUNT_PER_MINUTE: "1000000",
          RATE_LIMIT_FLOOD_PER_SECOND: "1000000",
          RATE_LIMIT_KEY_PREFIX: cachePrefix,
          DOCTOR_ADDR: address(doctorPort),
          SLOT_ADDR: address(slotPort),
          BOOKING_ADDR: address(bookingPort),
          ...(notifier ? { NOTIFIER_ADDR: notifier.address } : {}),
          // Live availability reads the booking events where this stack's booking writes them.
          ...(options.notifier ? { BOOKING_EVENTS_TOPIC: options.notifier.eventsTopic } : {}),
          // Generous for loaded CI machines; the contention test queues hundreds of calls.
          GRPC_DEADLINE_MS: "20000",
          ...options.edge,
        }),
        logger("edge"),
      ),
    );
    const metricsPorts = {
      edge: edge.metricsPort,
      doctor: doctor.metricsPort,
      slot: slot.metricsPort,
      booking: booking.metricsPort,
      ...(notifier ? { notifier: notifier.metricsPort } : {}),
    };
    const baseUrl = `http://127.0.0.1:${edge.port}`;
    const signer = edgeSigner(edge);
    return {
      baseUrl,
      edge,
      booking,
      startBookingReplica,
      rescheduleTopic: reschedules,
      shardDbs,
      edgeDb,
      ...(notifier ? { notifier } : {}),
      metricsPorts,
      signer,
      http: () => new Http(baseUrl, signer),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The whole platform, an admin client of its edge, and fixtures made through that client. */
export interface StackWithFixtures {
  stack: Stack;
  http: Http;
  make: Fixtures;
}

/** What most end-to-end suites start with (in `beforeAll`; `stack.stop()` in `afterAll`). */
export async function startStackWithFixtures(options: StackOptions): Promise<StackWithFixtures> {
  const stack = await startStack(options);
  const http = stack.http();
  return { stack, http, make: new Fixtures(http) };
}
