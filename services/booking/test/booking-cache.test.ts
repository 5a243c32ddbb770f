import { randomBytes, randomUUID } from "node:crypto";
import { unary } from "@clinic/platform/grpc";
import { createKafka } from "@clinic/platform/kafka";
import { createRedis, type Redis } from "@clinic/platform/redis";
import { bookingV1 } from "@clinic/proto";
import {
  addMinutes, cacheRequests, cachesAgain, createScratchDatabase, DoctorApi, eventually, failure, freePort,
  hoursAhead, privateRedis, type ScratchDatabase, SlotApi, stackEnv, startBooking, startDoctor,
  type StartedBooking, type StartedService, startSlot, stopInOrder, testClient, testLogger,
} from "@clinic/test-stack";
import { status } from "@grpc/grpc-js";

class Bookings {
  private readonly client: bookingV1.BookingServiceClient;

  constructor(address: string) {
    this.client = testClient(bookingV1.BookingServiceClient, address, "clinic.booking.v1.BookingService");
  }

  /** A new booking's id. */
  book = async (slotId: string): Promise<string> =>
    (
      await unary(
        this.client.createBooking.bind(this.client),
        bookingV1.CreateBookingRequest.fromPartial({ slotId, patientId: randomUUID(), patientName: "Test Patient", patientContact: "patient@example.org" }),
      )
    ).booking!.id;
  cancel = (id: string) => unary(this.client.cancelBooking.bind(this.client), { id });
  confirm = (id: string) => unary(this.client.confirmBooking.bind(this.client), { id });
  /** `[capacity, held, remaining]`, or "missing". */
  seats = async (slotId: string): Promise<[number, number, number] | "missing"> => {
    const { availability, missingSlotIds } = await unary(this.client.getAvailability.bind(this.client), { slotIds: [slotId] });
    if (missingSlotIds.includes(slotId)) return "missing";
    const a = availability[0]!;
    return [a.capacity, a.held, a.remaining];
  };
  listBySlot = (slotId: string) =>
    unary(this.client.listBookings.bind(this.client), bookingV1.ListBookingsRequest.fromPartial({ slotId }));

  close(): void {
    this.client.close();
  }
}

/**
 * GetAvailability through `slot:{id}:bookings:count`, invalidated after every seat change, and
 * the slot directory invalidated by slot events from Kafka, with two booking replicas over the
 * same shards and the real doctor and slot services. Slot details stay cached for 10 minutes
 * here, so only an event can explain a replica noticing a change.
 */
describe("booking service caches", () => {
  const topic = `test.slot-events.${randomBytes(4).toString("hex")}`;
  const kafka = createKafka({ clientId: "booking-cache-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger() });
  const admin = kafka.admin();
  const shardDbs: ScratchDatabase[] = [];
  let doctorService: StartedService;
  let slotService: StartedService;
  let a: StartedBooking;
  let b: StartedBooking;
  let doctors: DoctorApi;
  let slots: SlotApi;
  let viaA: Bookings;
  let viaB: Bookings;
  let redis: Redis;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    doctorService = await startDoctor();
    const portA = await freePort();
    slotService = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: `127.0.0.1:${portA}`, SLOT_EVENTS_TOPIC: topic });
    shardDbs.push(await createScratchDatabase("booking_cache_0"), await createScratchDatabase("booking_cache_1"));
    const replicaEnv = { SLOT_ADDR: slotService.address, SLOT_EVENTS_TOPIC: topic, SLOT_CACHE_TTL_MS: "600000" };
    a = await startBooking(shardDbs, replicaEnv, portA);
    // Replica B holds seats for 1.5 s only and sweeps often: the expiry test books through it.
    b = await startBooking(shardDbs, { ...replicaEnv, HOLD_TTL_MS: "1500", SWEEP_INTERVAL_MS: "200" });
    doctors = new DoctorApi(doctorService.address);
    slots = new SlotApi(slotService.address);
    viaA = new Bookings(a.address);
    viaB = new Bookings(b.address);
    redis = createRedis(stackEnv("REDIS_URL"), testLogger());
    await redis.connect();
    await Promise.all([a.service.slotEvents.joined(), b.service.slotEvents.joined()]);
  });

  afterAll(async () => {
    await stopInOrder(viaA, viaB, slots, doctors, redis, slotService, a, b, ...shardDbs, doctorService);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  async function newSlot(capacity: number, hours: number) {
    const doctorId = await doctors.create();
    const start = hoursAhead(hours);
    return (await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity })).slot!;
  }

  it("serves GetAvailability from Redis and shows every seat change at once, on every replica", async () => {
    const slot = await newSlot(2, 100);
    const key = `slot:${slot.id}:bookings:count`;
    expect(await viaA.seats(slot.id)).toEqual([2, 0, 2]);
    const hits = await cacheRequests(a.metricsPort, "availability", "hit");
    expect(await viaA.seats(slot.id)).toEqual([2, 0, 2]);
    expect(await cacheRequests(a.metricsPort, "availability", "hit")).toBe(hits + 1);
    expect(JSON.parse((await redis.get(key))!)).toEqual({ capacity: 2, held: 0 });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);

    const first = await viaA.book(slot.id);
    expect(await viaA.seats(slot.id)).toEqual([2, 1, 1]);
    expect(await viaB.seats(slot.id)).toEqual([2, 1, 1]);
    const second = await viaA.book(slot.id);
    expect(await viaB.seats(slot.id)).toEqual([2, 2, 0]);
    expect(await failure(viaA.book(slot.id))).toMatchObject({ code: status.ABORTED, reason: "SLOT_FULL" });
    expect(await viaA.seats(slot.id)).toEqual([2, 2, 0]);

    await viaA.confirm(second);
    await viaA.cancel(first);
    expect(await viaB.seats(slot.id)).toEqual([2, 1, 1]);
    await viaA.cancel(second);
    expect(await viaB.seats(slot.id)).toEqual([2, 0, 2]);

    // Through the slot service, which moves booking's inventory first.
    await slots.updateSlotCapacity(slot.id, 5);
    expect(await viaB.seats(slot.id)).toEqual([5, 0, 5]);
    await slots.deleteSlot(slot.id);
    expect(await viaB.seats(slot.id)).toBe("missing");
  });

  it("frees a lapsed hold's seat in the cached count as soon as the sweeper expires it", async () => {
    const slot = await newSlot(1, 101);
    await viaB.book(slot.id); // lapses after 1.5 s
    expect(await viaA.seats(slot.id)).toEqual([1, 1, 0]);
    expect(await viaA.seats(slot.id)).toEqual([1, 1, 0]); // cached for up to 60 s
    const started = Date.now();
    await eventually(async () => ((await viaA.seats(slot.id))[1] === 0 ? true : undefined), 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await viaA.seats(slot.id)).toEqual([1, 0, 1]);
  });

  it("invalidates every replica's slot directory from the slot events on Kafka", async () => {
    const slot = await newSlot(3, 102);
    // B learns the slot (and keeps it for 10 minutes, unless told otherwise).
    expect((await viaB.listBySlot(slot.id)).bookings).toEqual([]);
    expect(b.service.slots.has(slot.id)).toBe(true);

    // The capacity change reaches booking through replica A only; B hears of it on Kafka.
    await slots.updateSlotCapacity(slot.id, 4);
    await eventually(async () => (b.service.slots.has(slot.id) ? undefined : true), 15_000);

    expect((await viaB.listBySlot(slot.id)).bookings).toEqual([]);
    expect(b.service.slots.has(slot.id)).toBe(true);
    await slots.deleteSlot(slot.id);
    // Without the event B would list the deleted slot's bookings for 10 minutes.
    const gone = await eventually(async () => {
      const outcome = await failure(viaB.listBySlot(slot.id)).catch(() => undefined);
      return outcome;
    }, 15_000);
    expect(gone).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
  });

  it("starts, serves and stops promptly while Kafka is unreachable (slot events are an optimization)", async () => {
    const slot = await newSlot(2, 105);
    const lonely = await startBooking(shardDbs, { SLOT_ADDR: slotService.address, KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    const api = new Bookings(lonely.address);
    try {
      await api.book(slot.id);
      expect(await api.seats(slot.id)).toEqual([2, 1, 1]);
    } finally {
      api.close();
      const stopping = Date.now();
      await lonely.stop();
      expect(Date.now() - stopping).toBeLessThan(10_000);
    }
  });

  describe("with Redis killed", () => {
    let c: StartedBooking;
    let viaC: Bookings;
    const server = privateRedis(
      async (url) => {
        c = await startBooking(shardDbs, { SLOT_ADDR: slotService.address, SLOT_EVENTS_TOPIC: topic, REDIS_URL: url, CACHE_COOLDOWN_MS: "200" });
        viaC = new Bookings(c.address);
      },
      async () => {
        viaC?.close();
        await c?.stop();
      },
    );

    it("takes every seat it should, answers every read correctly, and caches again after a restart", async () => {
      const slot = await newSlot(3, 103);
      expect(await viaC.seats(slot.id)).toEqual([3, 0, 3]);
      expect(await viaC.seats(slot.id)).toEqual([3, 0, 3]);

      await server.kill();
      const started = Date.now();
      const ids = [await viaC.book(slot.id), await viaC.book(slot.id)];
      expect(await viaC.seats(slot.id)).toEqual([3, 2, 1]);
      ids.push(await viaC.book(slot.id));
      expect(await failure(viaC.book(slot.id))).toMatchObject({ code: status.ABORTED, reason: "SLOT_FULL" });
      expect(await viaC.seats(slot.id)).toEqual([3, 3, 0]);
      await viaC.cancel(ids[0]!);
      expect(await viaC.seats(slot.id)).toEqual([3, 2, 1]);

      // Under contention too: exactly capacity many holds, never more.
      const contested = await newSlot(5, 104);
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => viaC.book(contested.id)));
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(5);
      expect(await viaC.seats(contested.id)).toEqual([5, 5, 0]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await cacheRequests(c.metricsPort, "availability", "error")).toBeGreaterThanOrEqual(4);

      await server.restart();
      await cachesAgain(c.metricsPort, "availability", async () => expect(await viaC.seats(slot.id)).toEqual([3, 2, 1]));
      await viaC.book(slot.id);
      expect(await viaC.seats(slot.id)).toEqual([3, 3, 0]);
    });
  });
});
