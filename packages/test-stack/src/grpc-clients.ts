import * as grpc from "@grpc/grpc-js";
import { fromServiceError, isServiceError, type RemoteError } from "@clinic/platform/errors";
import { createGrpcClient, healthServiceDefinition, unary } from "@clinic/platform/grpc";
import { doctorV1, notifierV1, slotV1 } from "@clinic/proto";
import { ADMIN, callAs, type Who } from "./file-issuer";

// Promise-returning clients of the services' gRPC APIs for tests, with proto defaults for fields
// left out, and the decoded error of a call that must fail.

/**
 * A generated gRPC client of `serviceName` at `address`, its calls sent as `as` (an admin unless
 * told; "anonymous" sends no token), with the deadline tests use.
 */
export function testClient<C>(Client: Parameters<typeof createGrpcClient<C>>[0], address: string, serviceName: string, as: Who = ADMIN): C {
  return createGrpcClient(Client, { address, serviceName, deadlineMs: 10_000, interceptors: callAs(as) });
}

/** Promise-returning calls of the slot service, with proto defaults for fields left out; as admin unless told. */
export class SlotApi {
  private readonly client: slotV1.SlotServiceClient;

  constructor(address: string, as: Who = ADMIN) {
    this.client = testClient(slotV1.SlotServiceClient, address, "clinic.slot.v1.SlotService", as);
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
    this.client = testClient(doctorV1.DoctorServiceClient, address, "clinic.doctor.v1.DoctorService", as);
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

/** The notifier's admin API and its gRPC health. */
export class NotifierApi {
  private readonly client: notifierV1.NotifierServiceClient;
  private readonly health: grpc.Client & Record<string, any>;

  /** `as` signs the calls (e.g. a test issuer's admin interceptor); without it they are anonymous. */
  constructor(address: string, as?: grpc.Interceptor) {
    this.client = createGrpcClient(notifierV1.NotifierServiceClient, {
      address,
      serviceName: "clinic.notifier.v1.NotifierService",
      deadlineMs: 10_000,
      ...(as ? { interceptors: [as] } : {}),
    });
    const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");
    this.health = new HealthClient(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  }

  listNotifications = (bookingId: string) => unary(this.client.listNotifications.bind(this.client), { bookingId });
  listDeadLetters = (pageSize = 0, pageToken = "") => unary(this.client.listDeadLetters.bind(this.client), { pageSize, pageToken });
  replay = (id: string) => unary(this.client.replayDeadLetter.bind(this.client), { id });

  healthStatus(service = ""): Promise<string> {
    return new Promise((resolve, reject) =>
      this.health["Check"]({ service }, (err: grpc.ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );
  }

  close(): void {
    this.client.close();
    this.health.close();
  }
}

/** The decoded gRPC error a call failed with (fails the test when it succeeded or failed otherwise). */
export async function remoteError(call: Promise<unknown>): Promise<RemoteError> {
  try {
    await call;
  } catch (err) {
    if (isServiceError(err)) return fromServiceError(err);
    throw err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export interface CallFailure {
  code: number;
  reason: string;
  message: string;
  /** The fields named by the error's violations, in order. */
  fields: string[];
}

/** The gRPC error a call ended with, flattened for `toMatchObject`; fails the test if it succeeded. */
export async function failure(call: Promise<unknown>): Promise<CallFailure> {
  const remote = await remoteError(call);
  return { code: remote.code, reason: remote.reason, message: remote.message, fields: remote.violations.map((v) => v.field) };
}
