import * as grpc from "@grpc/grpc-js";
import { bookingV1, doctorV1, eventsV1, slotV1 } from "@clinic/proto";
import { createGrpcClient, unary } from "./grpc-client";
import { createGrpcServer, defineService, type GrpcServer } from "./grpc-server";
import { createLogger } from "../logging/logger";
import { MalformedMessageError, messageShapes } from "./message-guard";
import { createServiceMetrics } from "../metrics/metrics";
import type { CallerResolver } from "../auth/caller";

const SERVICE = "clinic.doctor.v1.DoctorService";
const SLOT_SERVICE = "clinic.slot.v1.SlotService";
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
    expect(response({ booking: withoutSlot, replayed: false })).toBe(
      "CreateBookingResponse.booking: Booking.slotId is missing; expected string",
    );
  });

  it("checks every element of a repeated field by its kind: scalars, enums and messages", () => {
    const doctors = messageShapes().forMethod("/clinic.doctor.v1.DoctorService/ListDoctors", "response")!;
    const doctor = doctorV1.Doctor.fromPartial({ id: "d1", name: "Dr. A", specialization: "cardiology" });
    expect(doctors({ doctors: [doctor, doctor], nextPageToken: "" })).toBeUndefined();
    const nameless: Partial<doctorV1.Doctor> = { ...doctor };
    delete nameless.name;
    expect(doctors({ doctors: [doctor, nameless], nextPageToken: "" })).toBe(
      "ListDoctorsResponse.doctors[1]: Doctor.name is missing; expected string",
    );
    expect(doctors({ doctors: [doctor, null], nextPageToken: "" })).toBe("ListDoctorsResponse.doctors[1]: Doctor is null, not an object");

    const ids = messageShapes().forMethod("/clinic.slot.v1.SlotService/BatchGetSlots", "request")!;
    expect(ids({ ids: ["a", "b"] })).toBeUndefined();
    expect(ids({ ids: ["a", undefined] })).toBe("BatchGetSlotsRequest.ids[1] is missing; expected string");
    expect(ids({ ids: ["a", 7] })).toBe("BatchGetSlotsRequest.ids[1] is a number (7); expected string");

    const statuses = messageShapes().forMethod("/clinic.booking.v1.BookingService/ListAllBookings", "request")!;
    const listAll = bookingV1.ListAllBookingsRequest.fromPartial({ statuses: [bookingV1.BookingStatus.BOOKING_STATUS_CONFIRMED] });
    expect(statuses(listAll)).toBeUndefined();
    expect(statuses({ ...listAll, statuses: ["CONFIRMED"] })).toBe(
      'ListAllBookingsRequest.statuses[0] is a string ("CONFIRMED"); expected an enum number',
    );
  });

  it("checks the set member of a oneof, and refuses an unknown one", () => {
    const command = messageShapes().forType("clinic.events.v1.RescheduleCommand")!;
    const base = eventsV1.RescheduleCommand.fromPartial({ commandId: "c", sagaId: "s", bookingId: "b" });
    expect(command(base)).toBeUndefined();
    const takeSeat = eventsV1.RescheduleTakeSeat.fromPartial({});
    expect(command({ ...base, step: { $case: "takeSeat", value: takeSeat } })).toBeUndefined();
    const withoutSlot: Partial<eventsV1.RescheduleTakeSeat> = { ...takeSeat };
    delete withoutSlot.slotId;
    expect(command({ ...base, step: { $case: "takeSeat", value: withoutSlot } })).toBe(
      "RescheduleCommand.step.takeSeat: RescheduleTakeSeat.slotId is missing; expected string",
    );
    expect(command({ ...base, step: { $case: "jump", value: {} } })).toMatch(
      /^RescheduleCommand.step.\$case is a string \("jump"\); expected one of takeSeat, releaseOld, /,
    );
  });

  it("knows nothing of methods or types that do not exist", () => {
    expect(messageShapes().forMethod("/no.Such/Method", "request")).toBeUndefined();
    expect(messageShapes().forType("no.Such")).toBeUndefined();
  });
});

describe("message shapes at the gRPC boundary", () => {
  let server: GrpcServer;
  let client: doctorV1.DoctorServiceClient;
  let slots: slotV1.SlotServiceClient;
  let created = 0;
  let batchGets = 0;
  // What the ListDoctors handler answers: a test sets it.
  let listed: doctorV1.ListDoctorsResponse;

  const unused = async (): Promise<never> => {
    throw new Error("not used by these tests");
  };

  beforeEach(async () => {
    created = 0;
    batchGets = 0;
    listed = { doctors: [], nextPageToken: "" };
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
          listDoctors: async () => listed,
          updateDoctor: async () => ({ doctor: undefined }),
          deleteDoctor: async () => ({}),
        }),
        defineService(SLOT_SERVICE, slotV1.SlotServiceService, {
          batchGetSlots: async (req) => {
            batchGets += 1;
            return { slots: [], missingIds: req.ids };
          },
          createSlot: unused,
          createSlots: unused,
          getSlot: unused,
          listSlots: unused,
          updateSlotCapacity: unused,
          deleteSlot: unused,
        }),
      ],
    });
    const port = await server.listen("127.0.0.1", 0);
    server.health.setAll("SERVING");
    client = createGrpcClient(doctorV1.DoctorServiceClient, { address: `127.0.0.1:${port}`, serviceName: SERVICE, deadlineMs: 5_000 });
    slots = createGrpcClient(slotV1.SlotServiceClient, { address: `127.0.0.1:${port}`, serviceName: SLOT_SERVICE, deadlineMs: 5_000 });
  });

  afterEach(() => {
    client.close();
    slots.close();
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

  it("refuses to send a request whose list holds a malformed element, and the server never sees it", async () => {
    const plain = { ids: ["s1", undefined] } as unknown as slotV1.BatchGetSlotsRequest;
    await expect(unary(slots.batchGetSlots.bind(slots), plain)).rejects.toThrow(
      "request of /clinic.slot.v1.SlotService/BatchGetSlots is malformed: BatchGetSlotsRequest.ids[1] is missing; expected string",
    );
    expect(batchGets).toBe(0);
    await expect(unary(slots.batchGetSlots.bind(slots), { ids: ["s1", "s2"] })).resolves.toMatchObject({ missingIds: ["s1", "s2"] });
    expect(batchGets).toBe(1);
  });

  it("answers INTERNAL instead of sending a list whose element lacks a field", async () => {
    const doctor = doctorV1.Doctor.fromPartial({ id: "d1", name: "Dr. A", specialization: "cardiology" });
    listed = { doctors: [doctor], nextPageToken: "" };
    await expect(unary(client.listDoctors.bind(client), doctorV1.ListDoctorsRequest.fromPartial({}))).resolves.toMatchObject({
      doctors: [{ id: "d1", name: "Dr. A" }],
    });
    listed = { doctors: [doctor, { id: "d2", specialization: "cardiology" } as doctorV1.Doctor], nextPageToken: "" };
    await expect(unary(client.listDoctors.bind(client), doctorV1.ListDoctorsRequest.fromPartial({}))).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: "internal error",
    });
  });
});
