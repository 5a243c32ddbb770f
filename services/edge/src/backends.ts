import * as grpc from "@grpc/grpc-js";
import { createGrpcClient, healthServiceDefinition, unary } from "@clinic/platform";
import { bookingV1, doctorV1, notifierV1, slotV1 } from "@clinic/proto";
import type { EdgeConfig } from "./config";

/** The gRPC services the edge translates to, one client (one channel) each. */
export interface Backends {
  doctor: doctorV1.DoctorServiceClient;
  slot: slotV1.SlotServiceClient;
  booking: bookingV1.BookingServiceClient;
  /** Admin routes only: the booking path never waits on notifications. */
  notifier: notifierV1.NotifierServiceClient;
  /** Asks each backend's grpc.health.v1 Check for its own service name. */
  readiness(timeoutMs: number): Promise<Readiness>;
  close(): void;
}

export type BackendName = "doctor" | "slot" | "booking";

export interface Readiness {
  ready: boolean;
  /** Per backend: `SERVING`, or what was wrong (a health status or a gRPC status name). */
  backends: Record<BackendName, string>;
}

// Only reads are retried: CreateBooking, Confirm and Cancel change state, and a retry of a
// request that reached the handler could book twice. (An idempotency key makes a CreateBooking
// retry safe, but the retry list is per method, so it stays out.)
const DOCTOR_READS = ["GetDoctor", "ListDoctors"];
const SLOT_READS = ["GetSlot", "BatchGetSlots", "ListSlots"];
const BOOKING_READS = ["GetBooking", "ListBookings", "ListAllBookings", "GetAvailability", "GetBookingPolicy", "ListWaitlist"];
const NOTIFIER_READS = ["ListNotifications", "ListDeadLetters"];

export const SERVICE_NAMES: Record<BackendName, string> = {
  doctor: "clinic.doctor.v1.DoctorService",
  slot: "clinic.slot.v1.SlotService",
  booking: "clinic.booking.v1.BookingService",
};

/** grpc.health.v1.Health as loaded by proto-loader: enums arrive as their names. */
interface HealthClient extends grpc.Client {
  check(
    request: { service: string },
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (error: grpc.ServiceError | null, response: { status: string }) => void,
  ): grpc.ClientUnaryCall;
}

const HealthClientCtor = grpc.makeGenericClientConstructor(
  healthServiceDefinition,
  "grpc.health.v1.Health",
) as unknown as new (address: string, credentials: grpc.ChannelCredentials, options: grpc.ClientOptions) => HealthClient;

export function createBackends(config: EdgeConfig): Backends {
  const deadlineMs = config.GRPC_DEADLINE_MS;
  const doctor = createGrpcClient(doctorV1.DoctorServiceClient, {
    address: config.DOCTOR_ADDR,
    serviceName: SERVICE_NAMES.doctor,
    deadlineMs,
    idempotentMethods: DOCTOR_READS,
  });
  const slot = createGrpcClient(slotV1.SlotServiceClient, {
    address: config.SLOT_ADDR,
    serviceName: SERVICE_NAMES.slot,
    deadlineMs,
    idempotentMethods: SLOT_READS,
  });
  const booking = createGrpcClient(bookingV1.BookingServiceClient, {
    address: config.BOOKING_ADDR,
    serviceName: SERVICE_NAMES.booking,
    deadlineMs,
    idempotentMethods: BOOKING_READS,
  });
  const notifier = createGrpcClient(notifierV1.NotifierServiceClient, {
    address: config.NOTIFIER_ADDR,
    serviceName: "clinic.notifier.v1.NotifierService",
    deadlineMs,
    idempotentMethods: NOTIFIER_READS,
  });
  const clients: Record<BackendName, grpc.Client> = { doctor, slot, booking };

  // Health checks ride on the very channel the API calls use, so "ready" means the connection
  // that serves traffic works, not merely that some other connection could be opened.
  const health = Object.fromEntries(
    (Object.keys(clients) as BackendName[]).map((name) => [
      name,
      new HealthClientCtor("unused:0", grpc.credentials.createInsecure(), {
        channelOverride: clients[name].getChannel(),
      }),
    ]),
  ) as Record<BackendName, HealthClient>;

  async function checkOne(name: BackendName, timeoutMs: number): Promise<string> {
    const client = health[name];
    try {
      const response = await unary(client.check.bind(client), { service: SERVICE_NAMES[name] }, new grpc.Metadata(), {
        deadline: Date.now() + timeoutMs,
      });
      return response.status;
    } catch (err) {
      const code = (err as Partial<grpc.ServiceError>).code;
      return typeof code === "number" ? (grpc.status[code] ?? "UNKNOWN") : "UNKNOWN";
    }
  }

  return {
    doctor,
    slot,
    booking,
    notifier,
    async readiness(timeoutMs) {
      const names = Object.keys(clients) as BackendName[];
      const results = await Promise.all(names.map((name) => checkOne(name, timeoutMs)));
      const backends = Object.fromEntries(names.map((name, i) => [name, results[i]])) as Record<BackendName, string>;
      return { ready: results.every((r) => r === "SERVING"), backends };
    },
    close() {
      // The health clients share the API clients' channels; closing those closes both.
      for (const client of Object.values(clients)) client.close();
      notifier.close();
    },
  };
}
