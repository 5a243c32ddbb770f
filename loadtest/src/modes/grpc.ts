import { fromServiceError, isServiceError } from "@clinic/platform/errors";
import { createGrpcClient, unary } from "@clinic/platform/grpc";
import { bookingV1, doctorV1, slotV1 } from "@clinic/proto";
import { Metadata, status as grpcStatus } from "@grpc/grpc-js";
import type { Outcome } from "../stats";
import { failure, type Patient, type SlotRef, type Target } from "./target";

export interface GrpcAddresses {
  booking: string;
  doctor: string;
  slot: string;
}

/** The patient's token as the edge forwards it: `authorization` metadata, re-verified by each service. */
function asPatient(patient: Patient): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", patient.authorization);
  return metadata;
}

/**
 * Mode (b): the booking service over gRPC, without the edge (reads go to the doctor and slot
 * services the same way). One channel per service, as the edge itself uses: HTTP/2 multiplexes
 * every concurrent call on it. The deadline is generous because a hot slot queues 1,000 calls.
 * Every call carries the patient's token, as the edge would forward it.
 */
export class GrpcTarget implements Target {
  private readonly booking: bookingV1.BookingServiceClient;
  private readonly doctor: doctorV1.DoctorServiceClient;
  private readonly slot: slotV1.SlotServiceClient;

  constructor(addresses: GrpcAddresses, deadlineMs = 30_000) {
    this.booking = createGrpcClient(bookingV1.BookingServiceClient, {
      address: addresses.booking,
      serviceName: "clinic.booking.v1.BookingService",
      deadlineMs,
    });
    this.doctor = createGrpcClient(doctorV1.DoctorServiceClient, {
      address: addresses.doctor,
      serviceName: "clinic.doctor.v1.DoctorService",
      deadlineMs,
    });
    this.slot = createGrpcClient(slotV1.SlotServiceClient, {
      address: addresses.slot,
      serviceName: "clinic.slot.v1.SlotService",
      deadlineMs,
    });
  }

  private async outcome(call: () => Promise<{ booking?: bookingV1.Booking | undefined }>): Promise<Outcome> {
    try {
      const res = await call();
      return { ok: true, status: "OK", ...(res.booking ? { bookingId: res.booking.id } : {}) };
    } catch (err) {
      if (isServiceError(err)) {
        const remote = fromServiceError(err);
        const name = grpcStatus[remote.code] ?? String(remote.code);
        return { ok: false, status: remote.reason && remote.reason !== name ? `${name} ${remote.reason}` : name };
      }
      return failure(err);
    }
  }

  hold(slot: SlotRef, patient: Patient): Promise<Outcome> {
    return this.outcome(() =>
      unary(
        this.booking.createBooking.bind(this.booking),
        bookingV1.CreateBookingRequest.fromPartial({
          slotId: slot.id,
          patientId: patient.id,
          patientName: patient.name,
          patientContact: patient.contact,
        }),
        asPatient(patient),
      ),
    );
  }

  confirm(bookingId: string, patient: Patient): Promise<Outcome> {
    return this.outcome(() => unary(this.booking.confirmBooking.bind(this.booking), { id: bookingId }, asPatient(patient)));
  }

  cancel(bookingId: string, patient: Patient): Promise<Outcome> {
    return this.outcome(() => unary(this.booking.cancelBooking.bind(this.booking), { id: bookingId }, asPatient(patient)));
  }

  listDoctors(patient: Patient): Promise<Outcome> {
    return this.outcome(async () => {
      await unary(this.doctor.listDoctors.bind(this.doctor), doctorV1.ListDoctorsRequest.fromPartial({ pageSize: 20 }), asPatient(patient));
      return {};
    });
  }

  listSlots(doctorId: string, patient: Patient): Promise<Outcome> {
    return this.outcome(async () => {
      await unary(this.slot.listSlots.bind(this.slot), slotV1.ListSlotsRequest.fromPartial({ doctorId, pageSize: 20 }), asPatient(patient));
      return {};
    });
  }

  availability(slotIds: readonly string[], patient: Patient): Promise<Outcome> {
    return this.outcome(async () => {
      await unary(this.booking.getAvailability.bind(this.booking), { slotIds: [...slotIds] }, asPatient(patient));
      return {};
    });
  }

  close(): Promise<void> {
    this.booking.close();
    this.doctor.close();
    this.slot.close();
    return Promise.resolve();
  }
}
