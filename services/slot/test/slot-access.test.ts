import { unary } from "@clinic/platform/grpc";
import { bookingV1, slotV1 } from "@clinic/proto";
import {
  addMinutes, ADMIN, createScratchDatabase, DoctorApi, failure, FORBIDDEN, freePort, hoursAhead,
  type ScratchDatabase, SlotApi, startBooking, startDoctor, type StartedBooking, type StartedService, startSlot,
  testClient, UNAUTHENTICATED, type Who,
} from "@clinic/test-stack";
import { status } from "@grpc/grpc-js";

const { Weekday } = slotV1;
const EVERY_DAY = [
  Weekday.WEEKDAY_MONDAY,
  Weekday.WEEKDAY_TUESDAY,
  Weekday.WEEKDAY_WEDNESDAY,
  Weekday.WEEKDAY_THURSDAY,
  Weekday.WEEKDAY_FRIDAY,
  Weekday.WEEKDAY_SATURDAY,
  Weekday.WEEKDAY_SUNDAY,
];

/** A UTC date `days` from today, "YYYY-MM-DD". */
const dateAhead = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * Who may publish and change slots, checked by the slot service from the caller's own token, and
 * checked again by the real booking service the slot service forwards that token to.
 */
describe("slot service access control", () => {
  let doctorService: StartedService;
  let slotService: StartedService;
  let booking: StartedBooking;
  let shardDb: ScratchDatabase;
  let doctors: DoctorApi;
  let seats: bookingV1.BookingServiceClient;
  const apis: SlotApi[] = [];
  let ada: string;
  let bob: string;
  let asAdmin: SlotApi;
  let asAda: SlotApi;
  let asBob: SlotApi;
  let asPatient: SlotApi;
  let asNobody: SlotApi;

  const api = (who: Who): SlotApi => {
    const created = new SlotApi(slotService.address, who);
    apis.push(created);
    return created;
  };

  beforeAll(async () => {
    doctorService = await startDoctor();
    const bookingPort = await freePort();
    slotService = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: `127.0.0.1:${bookingPort}` });
    shardDb = await createScratchDatabase("slot_access_booking");
    booking = await startBooking([shardDb], { SLOT_ADDR: slotService.address, SLOT_CACHE_TTL_MS: "0" }, bookingPort);
    doctors = new DoctorApi(doctorService.address);
    seats = testClient(bookingV1.BookingServiceClient, booking.address, "clinic.booking.v1.BookingService");
    ada = await doctors.create("Dr. Ada");
    bob = await doctors.create("Dr. Bob");
    asAdmin = api(ADMIN);
    asAda = api({ role: "doctor", doctorId: ada });
    asBob = api({ role: "doctor", doctorId: bob });
    asPatient = api({ role: "patient" });
    asNobody = api("anonymous");
  });

  afterAll(async () => {
    for (const a of apis) a.close();
    seats?.close();
    doctors?.close();
    await slotService?.stop();
    await booking?.stop();
    await shardDb?.drop();
    await doctorService?.stop();
  });

  const times = (hours: number) => {
    const start = hoursAhead(hours);
    return { startTime: start, endTime: addMinutes(start, 30) };
  };
  /** The booking service's seat capacity of a slot, or "missing". */
  const bookedCapacity = async (slotId: string): Promise<number | "missing"> => {
    const { availability } = await unary(seats.getAvailability.bind(seats), { slotIds: [slotId] });
    return availability[0]?.capacity ?? "missing";
  };

  it("lets anybody read slots, without a token too", async () => {
    const slot = (await asAdmin.createSlot({ doctorId: ada, ...times(40), capacity: 2 })).slot!;
    expect((await asNobody.getSlot(slot.id)).slot).toEqual(slot);
    expect((await asNobody.batchGetSlots([slot.id])).slots).toEqual([slot]);
    expect((await asNobody.listSlots({ doctorId: ada })).slots).toContainEqual(slot);
    expect((await asPatient.getSlot(slot.id)).slot).toEqual(slot);
  });

  it("refuses every slot write without a token (UNAUTHENTICATED) and from patients (PERMISSION_DENIED), changing nothing", async () => {
    const slot = (await asAdmin.createSlot({ doctorId: ada, ...times(41), capacity: 2 })).slot!;
    const schedule = { doctorId: ada, timeZone: "UTC", startDate: dateAhead(300), endDate: dateAhead(301), weekdays: EVERY_DAY, dayStart: "09:00", dayEnd: "10:00", slotMinutes: 30, capacity: 1 };
    for (const [who, refusal] of [[asNobody, UNAUTHENTICATED], [asPatient, FORBIDDEN]] as const) {
      expect(await failure(who.createSlot({ doctorId: ada, ...times(42), capacity: 1 }))).toMatchObject(refusal);
      expect(await failure(who.createSlots(schedule))).toMatchObject(refusal);
      expect(await failure(who.updateSlotCapacity(slot.id, 9))).toMatchObject(refusal);
      expect(await failure(who.deleteSlot(slot.id))).toMatchObject(refusal);
    }
    expect((await asAdmin.getSlot(slot.id)).slot).toEqual(slot);
    expect((await asAdmin.listSlots({ doctorId: ada, startFrom: hoursAhead(42), startTo: hoursAhead(43) })).slots).toEqual([]);
    expect((await asAdmin.listSlots({ doctorId: ada, startFrom: new Date(dateAhead(299)), startTo: new Date(dateAhead(303)) })).slots).toEqual([]);
  });

  it("lets a doctor publish slots for themselves, and for nobody else", async () => {
    const own = (await asAda.createSlot({ doctorId: ada, ...times(50), capacity: 2 })).slot!;
    expect(own.doctorId).toBe(ada);
    const schedule = { timeZone: "UTC", startDate: dateAhead(200), endDate: dateAhead(201), weekdays: EVERY_DAY, dayStart: "09:00", dayEnd: "10:00", slotMinutes: 30, capacity: 1 };
    expect((await asAda.createSlots({ ...schedule, doctorId: ada })).slots).toHaveLength(4);

    expect(await failure(asAda.createSlot({ doctorId: bob, ...times(51), capacity: 2 }))).toMatchObject(FORBIDDEN);
    expect(await failure(asAda.createSlots({ ...schedule, doctorId: bob }))).toMatchObject(FORBIDDEN);
    expect((await asAdmin.listSlots({ doctorId: bob })).slots).toEqual([]);
  });

  it("lets a doctor change and delete their own slot, through the booking service, and refuses another doctor", async () => {
    const slot = (await asAda.createSlot({ doctorId: ada, ...times(60), capacity: 2 })).slot!;

    // The booking service refuses calls without a doctor's or an admin's token, so this only
    // succeeds because the slot service forwarded Dr. Ada's token to SetSlotCapacity.
    expect((await asAda.updateSlotCapacity(slot.id, 5)).slot!.capacity).toBe(5);
    expect(await bookedCapacity(slot.id)).toBe(5);

    expect(await failure(asBob.updateSlotCapacity(slot.id, 9))).toMatchObject(FORBIDDEN);
    expect(await failure(asBob.deleteSlot(slot.id))).toMatchObject(FORBIDDEN);
    expect((await asAdmin.getSlot(slot.id)).slot!.capacity).toBe(5);
    expect(await bookedCapacity(slot.id)).toBe(5);

    // RetireSlot, with the forwarded token too.
    expect(await asAda.deleteSlot(slot.id)).toEqual({});
    expect(await failure(asAdmin.getSlot(slot.id))).toMatchObject({ code: status.NOT_FOUND });
    expect(await bookedCapacity(slot.id)).toBe("missing");
  });

  it("lets an admin change any doctor's slots", async () => {
    const slot = (await asBob.createSlot({ doctorId: bob, ...times(70), capacity: 2 })).slot!;
    expect((await asAdmin.updateSlotCapacity(slot.id, 3)).slot!.capacity).toBe(3);
    expect(await bookedCapacity(slot.id)).toBe(3);
    expect(await asAdmin.deleteSlot(slot.id)).toEqual({});
  });
});
