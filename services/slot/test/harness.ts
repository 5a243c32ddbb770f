import { createGrpcClient, fromServiceError, isServiceError, parseConfig, unary, type Lifecycle } from "@clinic/platform";
import { doctorV1, slotV1 } from "@clinic/proto";
import {
  bearerInterceptor,
  createScratchDatabase,
  stackEnv,
  startTestIssuer,
  testLogger,
  type Identity,
  type ScratchDatabase,
  type TestIssuer,
} from "@clinic/test-support";
import * as grpc from "@grpc/grpc-js";
import { startBookingService, type RunningBookingService } from "../../booking/src/app";
import { configSchema as bookingConfigSchema } from "../../booking/src/config";
import { startDoctorService } from "../../doctor/src/app";
import { configSchema as doctorConfigSchema } from "../../doctor/src/config";
import { startSlotService, type RunningService as RunningSlotService } from "../src/app";
import { configSchema as slotConfigSchema } from "../src/config";

let issuer: Promise<TestIssuer> | undefined;

/**
 * The token issuer (standing in for the edge) that every service started here trusts and every
 * client here signs with. One per test file, since jest loads modules per file: started on first
 * use, closed once the file's tests are done.
 */
export const testIssuer = (): Promise<TestIssuer> => (issuer ??= startTestIssuer());

afterAll(async () => {
  const started = issuer;
  issuer = undefined;
  await (await started)?.close();
});

/** Admins may do everything: the identity of test clients unless a test is about another. */
/** The failures access checks answer, as `failure(...)` reports them. */
export const UNAUTHENTICATED = { code: grpc.status.UNAUTHENTICATED, reason: "AUTHENTICATION_REQUIRED" };
export const FORBIDDEN = { code: grpc.status.PERMISSION_DENIED, reason: "FORBIDDEN" };

export const ADMIN: Identity = { role: "admin" };

/** Who a test call is made as: an account, or nobody (no token at all). */
export type Who = Identity | "anonymous";

/** Client interceptors sending every call as `who`. */
export const callAs = (who: Who): grpc.Interceptor[] =>
  who === "anonymous" ? [] : [bearerInterceptor(testIssuer().then((i) => i.token(who)))];

/** Metadata for one call made as `who`. */
export const metadataAs = async (who: Who): Promise<grpc.Metadata> =>
  who === "anonymous" ? new grpc.Metadata() : (await testIssuer()).metadata(who);

/** The test stack's PostgreSQL, as exported by scripts/test. */
export const serviceEnv = (): Record<string, string> => ({
  KAFKA_BROKERS: stackEnv("KAFKA_BROKERS"),
  REDIS_URL: stackEnv("REDIS_URL"),
  PGHOST: stackEnv("PGHOST"),
  PGPORT: stackEnv("PGPORT"),
  PGUSER: stackEnv("PGUSER"),
  PGPASSWORD: stackEnv("PGPASSWORD"),
});

/** A service started in-process on port 0 over its own scratch database. */
export interface StartedService {
  address: string;
  metricsPort: number;
  db: ScratchDatabase;
  lifecycle: Lifecycle;
  stop(): Promise<void>;
}

function started(service: { grpcPort: number; metricsPort: number; lifecycle: Lifecycle }, db: ScratchDatabase, ownsDb = true): StartedService {
  return {
    address: `127.0.0.1:${service.grpcPort}`,
    metricsPort: service.metricsPort,
    db,
    lifecycle: service.lifecycle,
    stop: async () => {
      await service.lifecycle.shutdown("test finished");
      if (ownsDb) await db.drop();
    },
  };
}

/** Extra settings override the defaults, e.g. `{ REDIS_URL }` of a Redis a test may kill. */
export async function startDoctor(env: Record<string, string> = {}): Promise<StartedService> {
  const db = await createScratchDatabase("slot_test_doctor");
  const config = parseConfig(doctorConfigSchema, {
    ...serviceEnv(),
    ...(await testIssuer()).env,
    PGDATABASE: db.name,
    GRPC_PORT: "0",
    METRICS_PORT: "0",
    ...env,
  });
  const service = await startDoctorService(config, testLogger("doctor"));
  return started(service, db);
}

export interface StartedSlotService extends StartedService {
  service: RunningSlotService;
}

/** `db` reuses another instance's database (a second replica, a restart); it is not dropped then. */
export async function startSlot(
  env: { DOCTOR_ADDR: string; BOOKING_ADDR: string } & Record<string, string>,
  db?: ScratchDatabase,
): Promise<StartedSlotService> {
  const database = db ?? (await createScratchDatabase("slot_test_slot"));
  const config = parseConfig(slotConfigSchema, {
    ...serviceEnv(),
    ...(await testIssuer()).env,
    PGDATABASE: database.name,
    GRPC_PORT: "0",
    METRICS_PORT: "0",
    // Calls to a peer that is not listening fail fast; this bounds a peer that hangs.
    GRPC_CLIENT_DEADLINE_MS: "3000",
    ...env,
  });
  const service = await startSlotService(config, testLogger("slot"));
  return { ...started(service, database, db === undefined), service };
}

export interface StartedBooking {
  address: string;
  metricsPort: number;
  service: RunningBookingService;
  stop(): Promise<void>;
}

/**
 * The booking service over the given shard databases (several replicas may share them), on
 * `port` when given (peers that must know its address before it starts).
 */
export async function startBooking(
  shards: readonly ScratchDatabase[],
  env: { SLOT_ADDR: string } & Record<string, string>,
  port = 0,
): Promise<StartedBooking> {
  const config = parseConfig(bookingConfigSchema, {
    ...serviceEnv(),
    ...(await testIssuer()).env,
    GRPC_PORT: String(port),
    METRICS_PORT: "0",
    BOOKING_SHARDS: shards.map((db) => db.name).join(","),
    GRPC_CLIENT_DEADLINE_MS: "3000",
    ...env,
  });
  const service = await startBookingService(config, testLogger("booking"));
  return {
    address: `127.0.0.1:${service.grpcPort}`,
    metricsPort: service.metricsPort,
    service,
    stop: async () => {
      await service.lifecycle.shutdown("test finished");
    },
  };
}

/** Promise-returning calls of the slot service, with proto defaults for fields left out; as admin unless told. */
export class SlotApi {
  private readonly client: slotV1.SlotServiceClient;

  constructor(address: string, as: Who = ADMIN) {
    this.client = createGrpcClient(slotV1.SlotServiceClient, {
      address,
      serviceName: "clinic.slot.v1.SlotService",
      deadlineMs: 10_000,
      interceptors: callAs(as),
    });
  }

  createSlot = (req: Partial<slotV1.CreateSlotRequest>) =>
    unary(this.client.createSlot.bind(this.client), slotV1.CreateSlotRequest.fromPartial(req));
  createSlots = (req: Partial<slotV1.CreateSlotsRequest>) =>
    unary(this.client.createSlots.bind(this.client), slotV1.CreateSlotsRequest.fromPartial(req));
  getSlot = (id: string) => unary(this.client.getSlot.bind(this.client), { id });
  batchGetSlots = (ids: string[]) => unary(this.client.batchGetSlots.bind(this.client), { ids });
  listSlots = (req: Partial<slotV1.ListSlotsRequest>) =>
    unary(this.client.listSlots.bind(this.client), slotV1.ListSlotsRequest.fromPartial(req));
  updateSlotCapacity = (id: string, capacity: number) =>
    unary(this.client.updateSlotCapacity.bind(this.client), { id, capacity });
  deleteSlot = (id: string) => unary(this.client.deleteSlot.bind(this.client), { id });

  close(): void {
    this.client.close();
  }
}

/** As admin unless told. */
export class DoctorApi {
  private readonly client: doctorV1.DoctorServiceClient;

  constructor(address: string, as: Who = ADMIN) {
    this.client = createGrpcClient(doctorV1.DoctorServiceClient, {
      address,
      serviceName: "clinic.doctor.v1.DoctorService",
      deadlineMs: 10_000,
      interceptors: callAs(as),
    });
  }

  /** A new doctor's id. */
  async create(name = "Dr. Test"): Promise<string> {
    const { doctor } = await unary(this.client.createDoctor.bind(this.client), { name, specialization: "General practice" });
    return doctor!.id;
  }

  close(): void {
    this.client.close();
  }
}

export interface CallFailure {
  code: number;
  reason: string;
  message: string;
  /** The fields named by the error's violations, in order. */
  fields: string[];
}

/** The gRPC error a call ended with; fails the test if it succeeded or failed some other way. */
export async function failure(call: Promise<unknown>): Promise<CallFailure> {
  try {
    await call;
  } catch (err) {
    if (!isServiceError(err)) throw err;
    const remote = fromServiceError(err);
    return { code: remote.code, reason: remote.reason, message: remote.message, fields: remote.violations.map((v) => v.field) };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** An hour boundary `hours` from now, so tests never create slots in the past. */
export function hoursAhead(hours: number): Date {
  const d = new Date(Date.now() + hours * 3_600_000);
  d.setUTCMinutes(0, 0, 0);
  return d;
}

export const addMinutes = (d: Date, minutes: number): Date => new Date(d.getTime() + minutes * 60_000);
