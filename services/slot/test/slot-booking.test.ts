import { randomUUID } from "node:crypto";
import { parseConfig } from "@clinic/platform/config";
import { unary } from "@clinic/platform/grpc";
import type { Lifecycle } from "@clinic/platform/service";
import { bookingV1 } from "@clinic/proto";
import {
  addMinutes, createScratchDatabase, DoctorApi, failure, freePort, hoursAhead, type ScratchDatabase, SlotApi,
  stackEnv, stackServiceEnv, startDoctor, type StartedService, startSlot, testClient, testIssuer, testLogger,
} from "@clinic/test-stack";
import { status } from "@grpc/grpc-js";
import { configSchema as bookingConfigSchema, startBookingService } from "@clinic/booking-service";

/**
 * Capacity changes and deletes go through the booking service, which owns the seats held. Here
 * it is the real one, in-process over two scratch shard databases, and it reads slots back from
 * the slot service under test.
 */
describe("slot service with the real booking service", () => {
  let doctorService: StartedService;
  let slotService: StartedService;
  let bookingLifecycle: Lifecycle;
  const shardDbs: ScratchDatabase[] = [];
  let doctors: DoctorApi;
  let slots: SlotApi;
  let booking: bookingV1.BookingServiceClient;

  beforeAll(async () => {
    doctorService = await startDoctor();
    // Each service needs the other's address: the booking port is chosen first, and the slot
    // service's client connects lazily, on its first call.
    const bookingPort = await freePort();
    slotService = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: `127.0.0.1:${bookingPort}` });
    shardDbs.push(await createScratchDatabase("slot_test_booking_0"), await createScratchDatabase("slot_test_booking_1"));
    const config = parseConfig(bookingConfigSchema, {
      ...stackServiceEnv(),
      ...(await testIssuer()).env,
      GRPC_PORT: String(bookingPort),
      METRICS_PORT: "0",
      BOOKING_SHARDS: shardDbs.map((db) => db.name).join(","),
      SLOT_ADDR: slotService.address,
      KAFKA_BROKERS: stackEnv("KAFKA_BROKERS"),
      // Capacity is never read from this cache, but no stale slot details either in a test.
      SLOT_CACHE_TTL_MS: "0",
    });
    bookingLifecycle = (await startBookingService(config, testLogger("booking"))).lifecycle;
    doctors = new DoctorApi(doctorService.address);
    slots = new SlotApi(slotService.address);
    booking = testClient(bookingV1.BookingServiceClient, `127.0.0.1:${bookingPort}`, "clinic.booking.v1.BookingService");
  });

  afterAll(async () => {
    booking?.close();
    slots?.close();
    doctors?.close();
    await slotService?.stop();
    await bookingLifecycle?.shutdown("test finished");
    for (const db of shardDbs) await db.drop();
    await doctorService?.stop();
  });

  async function newSlot(capacity: number, hours: number) {
    const doctorId = await doctors.create();
    const start = hoursAhead(hours);
    const { slot } = await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity });
    return slot!;
  }

  const book = async (slotId: string): Promise<string> => {
    const { booking: created } = await unary(
      booking.createBooking.bind(booking),
      bookingV1.CreateBookingRequest.fromPartial({ slotId, patientId: randomUUID(), patientName: "Test Patient", patientContact: "patient@example.org" }),
    );
    return created!.id;
  };
  const cancel = (id: string) => unary(booking.cancelBooking.bind(booking), { id });
  const availability = async (slotId: string) => {
    const response = await unary(booking.getAvailability.bind(booking), { slotIds: [slotId] });
    return { available: response.availability[0], missing: response.missingSlotIds };
  };

  it("changes the capacity of a slot nobody has booked yet, in both services", async () => {
    const slot = await newSlot(2, 300);
    const { slot: updated } = await slots.updateSlotCapacity(slot.id, 7);
    expect(updated).toMatchObject({ id: slot.id, capacity: 7, startTime: slot.startTime, endTime: slot.endTime });
    expect(updated!.updateTime!.getTime()).toBeGreaterThanOrEqual(slot.updateTime!.getTime());
    expect((await slots.getSlot(slot.id)).slot!.capacity).toBe(7);
    expect((await availability(slot.id)).available).toMatchObject({ capacity: 7, held: 0, remaining: 7 });
  });

  it("refuses a capacity below the seats held with the booking service's answer, and keeps the slot", async () => {
    const slot = await newSlot(3, 301);
    const first = await book(slot.id);
    await book(slot.id);

    expect(await failure(slots.updateSlotCapacity(slot.id, 1))).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "CAPACITY_BELOW_HELD",
    });
    expect((await slots.getSlot(slot.id)).slot!.capacity).toBe(3);
    expect((await availability(slot.id)).available).toMatchObject({ capacity: 3, held: 2 });

    // Exactly the seats held is allowed; after a cancellation, one seat fewer is too.
    expect((await slots.updateSlotCapacity(slot.id, 2)).slot!.capacity).toBe(2);
    await cancel(first);
    expect((await slots.updateSlotCapacity(slot.id, 1)).slot!.capacity).toBe(1);
    expect((await availability(slot.id)).available).toMatchObject({ capacity: 1, held: 1, remaining: 0 });
  });

  it("keeps both services on the same capacity under concurrent changes", async () => {
    const slot = await newSlot(5, 302);
    await book(slot.id);
    for (let round = 0; round < 8; round++) {
      const capacities = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11].sort(() => Math.random() - 0.5);
      await Promise.all(capacities.map((capacity) => slots.updateSlotCapacity(slot.id, capacity)));
      const { slot: current } = await slots.getSlot(slot.id);
      expect((await availability(slot.id)).available!.capacity).toBe(current!.capacity);
    }
  });

  it("refuses to delete a slot with active bookings, then deletes it once they are cancelled", async () => {
    const slot = await newSlot(2, 303);
    const held = await book(slot.id);

    expect(await failure(slots.deleteSlot(slot.id))).toMatchObject({ code: status.ABORTED, reason: "SLOT_HAS_ACTIVE_BOOKINGS" });
    expect((await slots.getSlot(slot.id)).slot).toEqual(slot);
    expect((await availability(slot.id)).available).toMatchObject({ capacity: 2, held: 1 });

    await cancel(held);
    expect(await slots.deleteSlot(slot.id)).toEqual({});
    expect(await failure(slots.getSlot(slot.id))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
    expect(await failure(slots.deleteSlot(slot.id))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
    expect((await availability(slot.id)).missing).toEqual([slot.id]);
    expect(await failure(book(slot.id))).toMatchObject({ code: status.NOT_FOUND });
  });

  it("deletes a slot nobody has booked, and it can no longer be booked", async () => {
    const slot = await newSlot(1, 304);
    await slots.deleteSlot(slot.id);
    expect(await failure(slots.getSlot(slot.id))).toMatchObject({ code: status.NOT_FOUND });
    expect(await failure(book(slot.id))).toMatchObject({ code: status.NOT_FOUND });
  });
});
