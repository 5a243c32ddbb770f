import * as grpc from "@grpc/grpc-js";
import {
  createPromiseClient,
  healthServiceDefinition,
  promiseClient,
  type GeneratedClientConstructor,
  type GrpcClientOptions,
  type OwnedPromiseClient,
} from "@clinic/platform/grpc";
import { bookingV1, doctorV1, notifierV1, slotV1 } from "@clinic/proto";
import type { EdgeConfig } from "./config";

/**
 * The gRPC services the edge translates to, one client (one channel) each, in promise form:
 * `await backends.booking.getBooking({ id }, { metadata })`.
 */
export interface Backends {
  doctor: OwnedPromiseClient<typeof doctorV1.DoctorServiceService>;
  slot: OwnedPromiseClient<typeof slotV1.SlotServiceService>;
  booking: OwnedPromiseClient<typeof bookingV1.BookingServiceService>;
  /** Admin routes only: the booking path never waits on notifications. */
  notifier: OwnedPromiseClient<typeof notifierV1.NotifierServiceService>;
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
  doctor: doctorV1.DoctorServiceClient.serviceName,
  slot: slotV1.SlotServiceClient.serviceName,
  booking: bookingV1.BookingServiceClient.serviceName,
};

/**
 * grpc.health.v1.Health's Check in promise form. The definition is loaded by proto-loader, not
 * generated, so its types are spelt here (enums arrive as their names).
 */
const HEALTH_CHECK = { check: { requestStream: false, responseStream: false } } as const;
type HealthClient = { check(request: { service: string }, options: { deadline: grpc.Deadline }): Promise<{ status: string }> };

const HealthClientCtor = grpc.makeGenericClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");

function connect<C extends grpc.Client, D extends Record<string, { requestStream: boolean; responseStream: boolean }>>(
  Client: GeneratedClientConstructor<C, D> & { serviceName: string },
  options: Omit<GrpcClientOptions, "serviceName">,
): OwnedPromiseClient<D> {
  return createPromiseClient(Client, { ...options, serviceName: Client.serviceName });
}

export function createBackends(config: EdgeConfig): Backends {
  const deadlineMs = config.GRPC_DEADLINE_MS;
  const doctor = connect(doctorV1.DoctorServiceClient, { address: config.DOCTOR_ADDR, deadlineMs, idempotentMethods: DOCTOR_READS });
  const slot = connect(slotV1.SlotServiceClient, { address: config.SLOT_ADDR, deadlineMs, idempotentMethods: SLOT_READS });
  const booking = connect(bookingV1.BookingServiceClient, { address: config.BOOKING_ADDR, deadlineMs, idempotentMethods: BOOKING_READS });
  const notifier = connect(notifierV1.NotifierServiceClient, { address: config.NOTIFIER_ADDR, deadlineMs, idempotentMethods: NOTIFIER_READS });
  const clients: Record<BackendName, grpc.Client> = { doctor: doctor.grpc, slot: slot.grpc, booking: booking.grpc };

  // Health checks ride on the very channel the API calls use, so "ready" means the connection
  // that serves traffic works, not merely that some other connection could be opened.
  const health = Object.fromEntries(
    (Object.keys(clients) as BackendName[]).map((name) => [
      name,
      promiseClient(
        new HealthClientCtor("unused:0", grpc.credentials.createInsecure(), { channelOverride: clients[name].getChannel() }),
        HEALTH_CHECK,
      ) as unknown as HealthClient,
    ]),
  ) as Record<BackendName, HealthClient>;

  async function checkOne(name: BackendName, timeoutMs: number): Promise<string> {
    try {
      const response = await health[name].check({ service: SERVICE_NAMES[name] }, { deadline: Date.now() + timeoutMs });
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
      notifier.grpc.close();
    },
  };
}
