import { randomUUID } from "node:crypto";
import { AUTHORIZATION_KEY } from "@clinic/platform/auth";
import { createGrpcClient, unary } from "@clinic/platform/grpc";
import { bookingV1, type slotV1 } from "@clinic/proto";
import {
  addMinutes, ADMIN, createScratchDatabase, DoctorApi, failure, FORBIDDEN, freePort, hoursAhead, type Identity,
  metadataAs, type ScratchDatabase, SlotApi, startBooking, startDoctor, type StartedBooking,
  type StartedService, startSlot, startTestIssuer, stopInOrder, testIssuer, UNAUTHENTICATED, type Who,
} from "@clinic/test-stack";
import { Metadata, status } from "@grpc/grpc-js";

const { BOOKING_STATUS_PENDING: PENDING, BOOKING_STATUS_CONFIRMED: CONFIRMED, BOOKING_STATUS_CANCELLED: CANCELLED } = bookingV1.BookingStatus;

/** The booking API with the caller named per call. */
class Bookings {
  private readonly client: bookingV1.BookingServiceClient;

  constructor(address: string) {
    this.client = createGrpcClient(bookingV1.BookingServiceClient, { address, serviceName: "clinic.booking.v1.BookingService", deadlineMs: 10_000 });
  }

  book = async (who: Who, req: Partial<bookingV1.CreateBookingRequest>) =>
    (
      await unary(
        this.client.createBooking.bind(this.client),
        bookingV1.CreateBookingRequest.fromPartial({ patientName: "Test Patient", patientContact: "patient@example.org", ...req }),
        await metadataAs(who),
      )
    ).booking!;
  get = async (who: Who, id: string) => (await unary(this.client.getBooking.bind(this.client), { id }, await metadataAs(who))).booking!;
  confirm = async (who: Who, id: string) => (await unary(this.client.confirmBooking.bind(this.client), { id }, await metadataAs(who))).booking!;
  cancel = async (who: Who, id: string) => (await unary(this.client.cancelBooking.bind(this.client), { id }, await metadataAs(who))).booking!;
  /** The ids listed, newest first. */
  list = async (who: Who, by: Partial<bookingV1.ListBookingsRequest>) =>
    (await unary(this.client.listBookings.bind(this.client), bookingV1.ListBookingsRequest.fromPartial(by), await metadataAs(who))).bookings.map((b) => b.id);
  listAll = async (who: Who) =>
    (await unary(this.client.listAllBookings.bind(this.client), bookingV1.ListAllBookingsRequest.fromPartial({}), await metadataAs(who))).bookings.map((b) => b.id);
  availability = (slotIds: string[], metadata: Metadata) => unary(this.client.getAvailability.bind(this.client), { slotIds }, metadata);
  /** `[capacity, held]` of a slot, as anybody may see them. */
  seats = async (slotId: string): Promise<[number, number]> => {
    const a = (await this.availability([slotId], new Metadata())).availability[0]!;
    return [a.capacity, a.held];
  };
  setCapacity = async (who: Who, slot: slotV1.Slot, capacity: number, doctorId = slot.doctorId) =>
    unary(
      this.client.setSlotCapacity.bind(this.client),
      { slotId: slot.id, doctorId, capacity, startTime: slot.startTime, endTime: slot.endTime },
      await metadataAs(who),
    );
  retire = async (who: Who, slot: slotV1.Slot, doctorId = slot.doctorId) =>
    unary(this.client.retireSlot.bind(this.client), { slotId: slot.id, doctorId }, await metadataAs(who));
  countActive = async (who: Who, doctorId: string) =>
    (await unary(this.client.countActiveBookings.bind(this.client), { doctorId }, await metadataAs(who))).count;

  close(): void {
    this.client.close();
  }
}

/**
 * Who may book, read, change and list bookings: the booking service decides from the caller's
 * own verified token, whoever forwards the call. One shard, so Dr. Ada's and Dr. Bob's slots share
 * it and a doctor naming themselves cannot reach the other's inventory row either.
 */
describe("booking service access control", () => {
  let doctorService: StartedService;
  let slotService: StartedService;
  let booking: StartedBooking;
  let shardDb: ScratchDatabase;
  let doctors: DoctorApi;
  let slots: SlotApi;
  let bookings: Bookings;
  let ada: string;
  let bob: string;
  let asAda: Identity;
  let asBob: Identity;
  const pat = randomUUID();
  const sam = randomUUID();
  const asPat: Identity = { role: "patient", accountId: pat };
  const asSam: Identity = { role: "patient", accountId: sam };

  beforeAll(async () => {
    doctorService = await startDoctor();
    const bookingPort = await freePort();
    slotService = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: `127.0.0.1:${bookingPort}` });
    shardDb = await createScratchDatabase("booking_access");
    booking = await startBooking([shardDb], { SLOT_ADDR: slotService.address }, bookingPort);
    doctors = new DoctorApi(doctorService.address);
    slots = new SlotApi(slotService.address);
    bookings = new Bookings(booking.address);
    ada = await doctors.create("Dr. Ada");
    bob = await doctors.create("Dr. Bob");
    asAda = { role: "doctor", doctorId: ada };
    asBob = { role: "doctor", doctorId: bob };
  });

  afterAll(() => stopInOrder(bookings, slots, doctors, slotService, booking, shardDb, doctorService));

  let hours = 24;
  /** A new slot of `doctorId`, an hour after the previous one. */
  async function newSlot(doctorId: string, capacity = 5): Promise<slotV1.Slot> {
    const start = hoursAhead((hours += 1));
    return (await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity })).slot!;
  }

  it("answers UNAUTHENTICATED without a token, except for availability, which is public", async () => {
    const slot = await newSlot(ada);
    const held = await bookings.book(asPat, { slotId: slot.id, patientId: pat });
    const nobody = "anonymous";
    expect(await failure(bookings.book(nobody, { slotId: slot.id, patientId: pat }))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.get(nobody, held.id))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.confirm(nobody, held.id))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.cancel(nobody, held.id))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.list(nobody, { patientId: pat }))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.listAll(nobody))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.setCapacity(nobody, slot, 1))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.retire(nobody, slot))).toMatchObject(UNAUTHENTICATED);
    expect(await failure(bookings.countActive(nobody, ada))).toMatchObject(UNAUTHENTICATED);
    expect(await bookings.seats(slot.id)).toEqual([5, 1]);
    expect((await bookings.get(asPat, held.id)).status).toBe(PENDING);
  });

  it("books in the caller's own name only (admins for anybody), refused before a seat is held or a key claimed", async () => {
    const slot = await newSlot(ada);
    const key = `retry-${randomUUID()}`;
    expect(await failure(bookings.book(asPat, { slotId: slot.id, patientId: sam, idempotencyKey: key }))).toMatchObject(FORBIDDEN);
    expect(await bookings.seats(slot.id)).toEqual([5, 0]);
    // Sam's key was not claimed by the refused request: a different body with it is a first use.
    const samsOwn = await bookings.book(asSam, { slotId: slot.id, patientId: sam, patientName: "Sam", idempotencyKey: key });
    expect(samsOwn).toMatchObject({ patientId: sam, patientName: "Sam" });
    expect(await bookings.book(asPat, { slotId: slot.id, patientId: pat })).toMatchObject({ patientId: pat });
    // A doctor is no patient's proxy either.
    expect(await failure(bookings.book(asAda, { slotId: slot.id, patientId: pat }))).toMatchObject(FORBIDDEN);
    const third = randomUUID();
    expect(await bookings.book(ADMIN, { slotId: slot.id, patientId: third })).toMatchObject({ patientId: third });
    expect(await bookings.seats(slot.id)).toEqual([5, 3]);
  });

  it("shows a booking to its patient, the doctor whose slot it is on and admins, nobody else", async () => {
    const slot = await newSlot(ada);
    const held = await bookings.book(asPat, { slotId: slot.id, patientId: pat });
    for (const reader of [asPat, asAda, ADMIN]) expect((await bookings.get(reader, held.id)).id).toBe(held.id);
    expect(await failure(bookings.get(asSam, held.id))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.get(asBob, held.id))).toMatchObject(FORBIDDEN);
  });

  it("lets only the booking's patient or an admin confirm it, and its doctor cancel it too", async () => {
    const slot = await newSlot(ada);
    const held = await bookings.book(asPat, { slotId: slot.id, patientId: pat });
    expect(await failure(bookings.cancel(asSam, held.id))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.confirm(asSam, held.id))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.confirm(asAda, held.id))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.cancel(asBob, held.id))).toMatchObject(FORBIDDEN);
    expect((await bookings.get(asPat, held.id)).status).toBe(PENDING);
    expect(await bookings.seats(slot.id)).toEqual([5, 1]);

    expect((await bookings.confirm(asPat, held.id)).status).toBe(CONFIRMED);
    expect(await failure(bookings.cancel(asSam, held.id))).toMatchObject(FORBIDDEN);
    expect((await bookings.cancel(ADMIN, held.id)).status).toBe(CANCELLED);
    expect(await bookings.seats(slot.id)).toEqual([5, 0]);

    const another = await bookings.book(asSam, { slotId: slot.id, patientId: sam });
    expect((await bookings.cancel(asAda, another.id)).status).toBe(CANCELLED);
  });

  it("lists by patient for that patient, by slot or doctor for that doctor, everything for admins", async () => {
    const slot = await newSlot(ada);
    const mine = await bookings.book(asPat, { slotId: slot.id, patientId: pat });
    const sams = await bookings.book(asSam, { slotId: slot.id, patientId: sam });

    expect(await bookings.list(asPat, { patientId: pat })).toContain(mine.id);
    expect(await bookings.list(asPat, { patientId: pat })).not.toContain(sams.id);
    expect(await failure(bookings.list(asSam, { patientId: pat }))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.list(asAda, { patientId: pat }))).toMatchObject(FORBIDDEN);

    expect(await bookings.list(asAda, { slotId: slot.id })).toEqual([sams.id, mine.id]);
    expect(await failure(bookings.list(asBob, { slotId: slot.id }))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.list(asPat, { slotId: slot.id }))).toMatchObject(FORBIDDEN);

    expect(await bookings.list(asAda, { doctorId: ada })).toEqual(expect.arrayContaining([mine.id, sams.id]));
    expect(await failure(bookings.list(asBob, { doctorId: ada }))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.list(asPat, { doctorId: ada }))).toMatchObject(FORBIDDEN);

    expect(await bookings.list(ADMIN, { slotId: slot.id })).toEqual([sams.id, mine.id]);
    expect(await bookings.list(ADMIN, { patientId: pat })).toContain(mine.id);
    expect(await bookings.list(ADMIN, { doctorId: ada })).toContain(mine.id);
    expect(await failure(bookings.list(ADMIN, { slotId: randomUUID() }))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });

    expect(await failure(bookings.listAll(asPat))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.listAll(asAda))).toMatchObject(FORBIDDEN);
    expect(await bookings.listAll(ADMIN)).toEqual(expect.arrayContaining([mine.id, sams.id]));
  });

  it("lets only a slot's doctor or an admin move its seats, even when a doctor names themselves", async () => {
    const slot = await newSlot(ada);
    await bookings.book(asPat, { slotId: slot.id, patientId: pat });

    expect(await failure(bookings.setCapacity(asPat, slot, 9))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.setCapacity(asBob, slot, 9))).toMatchObject(FORBIDDEN);
    // Dr. Bob's own doctor id routes to this very shard; the slot's inventory row says whose it is.
    expect(await failure(bookings.setCapacity(asBob, slot, 9, bob))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.retire(asBob, slot))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.retire(asBob, slot, bob))).toMatchObject(FORBIDDEN);
    expect(await bookings.seats(slot.id)).toEqual([5, 1]);

    expect(await bookings.setCapacity(asAda, slot, 4)).toMatchObject({ availability: { capacity: 4, held: 1 } });
    expect(await bookings.setCapacity(ADMIN, slot, 6)).toMatchObject({ availability: { capacity: 6, held: 1 } });

    expect(await failure(bookings.countActive(asBob, ada))).toMatchObject(FORBIDDEN);
    expect(await failure(bookings.countActive(asPat, ada))).toMatchObject(FORBIDDEN);
    expect(await bookings.countActive(asAda, ada)).toBeGreaterThanOrEqual(1);
    expect(await bookings.countActive(ADMIN, ada)).toBeGreaterThanOrEqual(1);
  });

  it("refuses a token it cannot trust, even on a call anonymous callers may make", async () => {
    const slot = await newSlot(bob);
    const issuer = await testIssuer();
    const stranger = await startTestIssuer();
    try {
      const bearer = (token: string) => {
        const metadata = new Metadata();
        metadata.set(AUTHORIZATION_KEY, `Bearer ${token}`);
        return metadata;
      };
      const cases: [string, string, string][] = [
        ["signed by another key", await stranger.token(ADMIN), "INVALID_TOKEN"],
        ["expired", await issuer.token(ADMIN, { expiresInSeconds: -60 }), "TOKEN_EXPIRED"],
        ["for another audience", await issuer.token(ADMIN, { audience: "another-api" }), "INVALID_TOKEN"],
      ];
      for (const [name, token, reason] of cases) {
        expect({ name, ...(await failure(bookings.availability([slot.id], bearer(token)))) }).toMatchObject({
          name,
          code: status.UNAUTHENTICATED,
          reason,
        });
      }
      expect((await bookings.availability([slot.id], bearer(await issuer.token(ADMIN)))).availability).toHaveLength(1);
    } finally {
      await stranger.close();
    }
  });
});
