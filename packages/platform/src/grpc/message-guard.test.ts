import * as grpc from "@grpc/grpc-js";
import { bookingV1, doctorV1 } from "@clinic/proto";
import { createGrpcClient, unary } from "./grpc-client";
import { createGrpcServer, defineService, type GrpcServer } from "./grpc-server";
import { createLogger } from "../logging/logger";
import { MalformedMessageError, messageShapes } from "./message-guard";
import { createServiceMetrics } from "../metrics/metrics";
import type { CallerResolver } from "../auth/caller";

const SERVICE = "clinic.doctor.v1.DoctorService";
const CREATE_BOOKING = "/clinic.booking.v1.BookingService/CreateBooking";
const anonymous: CallerResolver = { resolve: async () => ({ kind: "anonymous" }) };

describe("message shapes checked before encoding", () => {
  const check = (value: unknown) => messageShapes().forMethod(CREATE_BOOKING, "request")!(value);

  it("shows what ts-proto would do with a plain object: the text 'undefined' on the wire", () => {
    // The reason for the check: without it this request reaches the booking service with a
    // patient named "undefined".
    const plain = { slotId: "s", confirm: false } as unknown as bookingV1.CreateBookingRequest;
    const decoded = bookingV1.CreateBookingRequest.decode(bookingV1.CreateBookingRequest.encode(plain).finish());
    expect(decoded.patientName).toBe("undefined");
    expect(check(plain)).toBe("CreateBookingRequest.patientId is missing; expected string");
  });

  it("accepts messages built by fromPartial, and every field of the right type", () => {
    expect(check(bookingV1.CreateBookingRequest.fromPartial({ slotId: "s" }))).toBeUndefined();
    expect(check({ ...bookingV1.CreateBookingRequest.fromPartial({}), confirm: "yes" })).toMatch(
      /^CreateBookingRequest.confirm is a string .*expected boolean$/,
    );
  });

  it("checks nested messages when present and leaves absent ones and timestamps alone", () => {
    const response = messageShapes().forMethod(CREATE_BOOKING, "response")!;
    expect(response(bookingV1.CreateBookingResponse.fromPartial({}))).toBeUndefined();
    const booking = bookingV1.Booking.fromPartial({ id: "b", createTime: new Date() });
    expect(response({ booking, replayed: false })).toBeUndefined();
    const withoutSlot: Partial<bookingV1.Booking> = { ...booking };
    delete withoutSlot.slotId;
    expect(response({ booking: withoutSlot, replayed: false })).toBe("Booking.slotId is missing; expected string");
  });

  it("knows nothing of methods that do not exist", () => {
    expect(messageShapes().forMethod("/no.Such/Method", "request")).toBeUndefined();
  });
});

describe("message shapes at the gRPC boundary", () => {
  let server: GrpcServer;
  let client: doctorV1.DoctorServiceClient;
  let created = 0;

  beforeEach(async () => {
    created = 0;
    server = createGrpcServer({
      logger: createLogger({ service: "test", level: "silent" }),
      metrics: createServiceMetrics("test"),
      callers: anonymous,
      services: [
        defineService(SERVICE, doctorV1.DoctorServiceService, {
          createDoctor: async (req) => {
            created += 1;
            return { doctor: { id: "d", name: req.name, specialization: req.specialization, createTime: undefined, updateTime: undefined } };
          },
          // A handler that forgot a field: its answer must not go out as "undefined".
          getDoctor: async () => ({ doctor: { id: "d", name: "n" } }) as unknown as doctorV1.GetDoctorResponse,
          listDoctors: async () => ({ doctors: [], nextPageToken: "" }),
          updateDoctor: async () => ({ doctor: undefined }),
          deleteDoctor: async () => ({}),
        }),
      ],
    });
    const port = await server.listen("127.0.0.1", 0);
    server.health.setAll("SERVING");
    client = createGrpcClient(doctorV1.DoctorServiceClient, { address: `127.0.0.1:${port}`, serviceName: SERVICE, deadlineMs: 5_000 });
  });

  afterEach(() => {
    client.close();
    server.server.forceShutdown();
  });

  it("refuses to send a request with a missing field, and the server never sees it", async () => {
    const plain = { name: "Dr. Who" } as unknown as doctorV1.CreateDoctorRequest;
    await expect(unary(client.createDoctor.bind(client), plain)).rejects.toThrow(MalformedMessageError);
    await expect(unary(client.createDoctor.bind(client), plain)).rejects.toThrow(
      "request of /clinic.doctor.v1.DoctorService/CreateDoctor is malformed: CreateDoctorRequest.specialization is missing",
    );
    expect(created).toBe(0);
    const ok = await unary(client.createDoctor.bind(client), doctorV1.CreateDoctorRequest.fromPartial({ name: "Dr. Who" }));
    expect(ok.doctor).toMatchObject({ name: "Dr. Who", specialization: "" });
    expect(created).toBe(1);
  });

  it("answers INTERNAL instead of sending a response with a missing field", async () => {
    await expect(unary(client.getDoctor.bind(client), { id: "d" })).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: "internal error",
    });
  });
});
