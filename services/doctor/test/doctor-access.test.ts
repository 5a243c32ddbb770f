import { randomUUID } from "node:crypto";
import { AUTHORIZATION_KEY } from "@clinic/platform/auth";
import { createGrpcClient, unary } from "@clinic/platform/grpc";
import { bookingV1, doctorV1 } from "@clinic/proto";
import {
  ADMIN, createScratchDatabase, failure, FORBIDDEN, freePort, metadataAs, type ScratchDatabase, startBooking,
  startDoctor, type StartedBooking, type StartedService, startTestIssuer, stopInOrder, testIssuer,
  UNAUTHENTICATED, type Who,
} from "@clinic/test-stack";
import { Metadata, status } from "@grpc/grpc-js";


/** Doctors are public to read; only admins write them, checked from the caller's own token. */
describe("doctor service access control", () => {
  let shardDb: ScratchDatabase;
  let booking: StartedBooking;
  let service: StartedService;
  let client: doctorV1.DoctorServiceClient;

  beforeAll(async () => {
    // DeleteDoctor asks the booking service for active bookings, on behalf of the caller.
    shardDb = await createScratchDatabase("doctor_access_shard");
    booking = await startBooking([shardDb], { SLOT_ADDR: `127.0.0.1:${await freePort()}` });
    service = await startDoctor({ BOOKING_ADDR: booking.address });
    client = createGrpcClient(doctorV1.DoctorServiceClient, { address: service.address, serviceName: "clinic.doctor.v1.DoctorService", deadlineMs: 10_000 });
  });
  afterAll(() => stopInOrder(client, service, booking, shardDb));

  const create = async (who: Who, name = "Dr. Ada") =>
    (await unary(client.createDoctor.bind(client), { name, specialization: "cardiology" }, await metadataAs(who))).doctor!;
  const update = async (who: Who, id: string, name: string) =>
    (await unary(client.updateDoctor.bind(client), { id, name }, await metadataAs(who))).doctor!;
  const remove = async (who: Who, id: string) => unary(client.deleteDoctor.bind(client), { id }, await metadataAs(who));
  const get = async (who: Who, id: string) => (await unary(client.getDoctor.bind(client), { id }, await metadataAs(who))).doctor!;
  const list = async (who: Who) =>
    (await unary(client.listDoctors.bind(client), doctorV1.ListDoctorsRequest.fromPartial({ pageSize: 100 }), await metadataAs(who))).doctors;

  it("lets anybody read doctors, without a token too", async () => {
    const doctor = await create(ADMIN, "Dr. Public");
    expect(await get("anonymous", doctor.id)).toEqual(doctor);
    expect(await list("anonymous")).toContainEqual(doctor);
    expect(await get({ role: "patient" }, doctor.id)).toEqual(doctor);
  });

  it("refuses writes without a token (UNAUTHENTICATED) and from patients and doctors (PERMISSION_DENIED), changing nothing", async () => {
    const doctor = await create(ADMIN, "Dr. Unchanged");
    const itself = { role: "doctor" as const, doctorId: doctor.id };
    for (const [who, refusal] of [
      ["anonymous", UNAUTHENTICATED],
      [{ role: "patient" }, FORBIDDEN],
      // Not even a doctor's own record: names and specializations are vetted by admins.
      [itself, FORBIDDEN],
    ] as const) {
      expect(await failure(create(who, "Dr. Intruder"))).toMatchObject(refusal);
      expect(await failure(update(who, doctor.id, "Dr. Renamed"))).toMatchObject(refusal);
      expect(await failure(remove(who, doctor.id))).toMatchObject(refusal);
    }
    expect(await get(ADMIN, doctor.id)).toEqual(doctor);
    expect((await list(ADMIN)).map((d) => d.name)).not.toContain("Dr. Intruder");
  });

  it("lets an admin create, rename and delete a doctor, asking the booking service as that admin", async () => {
    const doctor = await create(ADMIN, "Dr. Temp");
    expect((await update(ADMIN, doctor.id, "Dr. Temporary")).name).toBe("Dr. Temporary");
    // The booking service answers CountActiveBookings to doctors and admins only, so the delete
    // gets through only because the admin's token was forwarded with it.
    const bookingClient = createGrpcClient(bookingV1.BookingServiceClient, { address: booking.address, serviceName: "clinic.booking.v1.BookingService", deadlineMs: 10_000 });
    try {
      expect(await failure(unary(bookingClient.countActiveBookings.bind(bookingClient), { doctorId: doctor.id }))).toMatchObject(UNAUTHENTICATED);
    } finally {
      bookingClient.close();
    }
    expect(await remove(ADMIN, doctor.id)).toEqual({});
    expect(await failure(get(ADMIN, doctor.id))).toMatchObject({ code: status.NOT_FOUND });
  });

  it("refuses tokens it cannot trust, even for reads", async () => {
    const doctor = await create(ADMIN, "Dr. Guarded");
    const issuer = await testIssuer();
    const stranger = await startTestIssuer();
    const bearer = (token: string) => {
      const metadata = new Metadata();
      metadata.set(AUTHORIZATION_KEY, `Bearer ${token}`);
      return metadata;
    };
    try {
      const admin = { role: "admin" as const, accountId: randomUUID() };
      for (const token of [
        await stranger.token(admin),
        await issuer.token(admin, { expiresInSeconds: -60 }),
        await issuer.token(admin, { audience: "another-api" }),
      ]) {
        expect(await failure(unary(client.getDoctor.bind(client), { id: doctor.id }, bearer(token)))).toMatchObject({ code: status.UNAUTHENTICATED });
        expect(await failure(unary(client.deleteDoctor.bind(client), { id: doctor.id }, bearer(token)))).toMatchObject({ code: status.UNAUTHENTICATED });
      }
      expect(await get(ADMIN, doctor.id)).toEqual(doctor);
    } finally {
      await stranger.close();
    }
  });
});
