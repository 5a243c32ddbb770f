import { createRedis, type Redis } from "@clinic/platform/redis";
import {
  addMinutes, cacheRequests, cachesAgain, createScratchDatabase, DoctorApi, failure, freePort, hoursAhead,
  privateRedis, type ScratchDatabase, SlotApi, stackEnv, startBooking, startDoctor, type StartedBooking,
  type StartedService, type StartedSlotService, startSlot, stopInOrder, testLogger, uniqueKeyPrefix,
} from "@clinic/test-stack";
import { status } from "@grpc/grpc-js";

/**
 * The slot service's Redis caches (`slot:{id}` and `doctor:{id}:slots`) with the real doctor and
 * booking services: reads come from Redis, writes are visible at once, and with Redis killed
 * every call still answers correctly.
 */
describe("slot service cache", () => {
  const prefix = uniqueKeyPrefix("slot");
  let doctorService: StartedService;
  let slotService: StartedSlotService;
  let booking: StartedBooking;
  const shardDbs: ScratchDatabase[] = [];
  let doctors: DoctorApi;
  let slots: SlotApi;
  let redis: Redis;

  beforeAll(async () => {
    doctorService = await startDoctor();
    const bookingPort = await freePort();
    slotService = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: `127.0.0.1:${bookingPort}`, CACHE_KEY_PREFIX: prefix });
    shardDbs.push(await createScratchDatabase("slot_cache_shard"));
    booking = await startBooking(shardDbs, { SLOT_ADDR: slotService.address }, bookingPort);
    doctors = new DoctorApi(doctorService.address);
    slots = new SlotApi(slotService.address);
    redis = createRedis(stackEnv("REDIS_URL"), testLogger());
    await redis.connect();
  });

  afterAll(() => stopInOrder(slots, doctors, redis, slotService, booking, ...shardDbs, doctorService));

  async function newSlot(doctorId: string, hours: number, capacity = 3) {
    const start = hoursAhead(hours);
    return (await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity })).slot!;
  }

  it("serves GetSlot, BatchGetSlots and ListSlots from Redis, with the design's TTLs", async () => {
    const doctorId = await doctors.create();
    const slot = await newSlot(doctorId, 30);
    const port = slotService.metricsPort;

    const hitsBefore = await cacheRequests(port, "slot", "hit");
    expect((await slots.getSlot(slot.id)).slot).toEqual(slot);
    expect((await slots.getSlot(slot.id)).slot).toEqual(slot);
    expect((await slots.batchGetSlots([slot.id])).slots).toEqual([slot]);
    expect(await cacheRequests(port, "slot", "hit")).toBe(hitsBefore + 2);
    const stored = JSON.parse((await redis.get(`${prefix}slot:${slot.id}`))!);
    expect(stored).toMatchObject({ id: slot.id, capacity: 3, start_time: { $date: slot.startTime!.toISOString() } });
    const ttl = await redis.ttl(`${prefix}slot:${slot.id}`);
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);

    const listHits = await cacheRequests(port, "doctor_slots", "hit");
    expect((await slots.listSlots({ doctorId })).slots).toEqual([slot]);
    expect((await slots.listSlots({ doctorId })).slots).toEqual([slot]);
    expect(await cacheRequests(port, "doctor_slots", "hit")).toBe(listHits + 1);
    const generation = await redis.get(`${prefix}doctor:${doctorId}:slots:gen`);
    expect(generation).toBeTruthy();
    const [entry] = await redis.keys(`${prefix}doctor:${doctorId}:slots:${generation}:*`);
    expect(entry).toBeDefined();
    expect(await redis.ttl(entry!)).toBeGreaterThan(1_790);
  });

  it("shows a capacity change, a new slot and a deletion at once in every read", async () => {
    const doctorId = await doctors.create();
    const slot = await newSlot(doctorId, 40, 2);
    // Fill every cache first.
    await slots.getSlot(slot.id);
    await slots.batchGetSlots([slot.id]);
    await slots.listSlots({ doctorId });
    await slots.listSlots({ doctorId, pageSize: 1 });

    await slots.updateSlotCapacity(slot.id, 7);
    expect((await slots.getSlot(slot.id)).slot!.capacity).toBe(7);
    expect((await slots.batchGetSlots([slot.id])).slots[0]!.capacity).toBe(7);
    expect((await slots.listSlots({ doctorId })).slots.map((s) => s.capacity)).toEqual([7]);
    expect((await slots.listSlots({ doctorId, pageSize: 1 })).slots.map((s) => s.capacity)).toEqual([7]);

    const later = await newSlot(doctorId, 41);
    expect((await slots.listSlots({ doctorId })).slots.map((s) => s.id)).toEqual([slot.id, later.id]);

    await slots.deleteSlot(slot.id);
    expect(await failure(slots.getSlot(slot.id))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
    expect(await slots.batchGetSlots([slot.id, later.id])).toEqual({ slots: [later], missingIds: [slot.id] });
    expect((await slots.listSlots({ doctorId })).slots.map((s) => s.id)).toEqual([later.id]);
  });

  it("does not cache a slot that does not exist yet", async () => {
    const doctorId = await doctors.create();
    const slot = await newSlot(doctorId, 50);
    expect(await redis.exists(`${prefix}slot:${slot.id}`)).toBe(0);
    const unknown = "22222222-2222-4222-8222-222222222222";
    await failure(slots.getSlot(unknown));
    expect(await redis.exists(`${prefix}slot:${unknown}`)).toBe(0);
  });

  it("warms slot:{id} at start for slots in the next 30 days only, in the background", async () => {
    const doctorId = await doctors.create();
    const soon = await newSlot(doctorId, 60);
    const farther = await newSlot(doctorId, 24 * 29);
    const beyond = await newSlot(doctorId, 24 * 31);
    // A second replica over the same database warms on start (and does not wait for it).
    const replica = await startSlot(
      { DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: booking.address, CACHE_KEY_PREFIX: prefix },
      slotService.db,
    );
    try {
      expect(await replica.service.warmer.done).toBeGreaterThanOrEqual(2);
      expect(await redis.exists(`${prefix}slot:${soon.id}`, `${prefix}slot:${farther.id}`)).toBe(2);
      expect(await redis.exists(`${prefix}slot:${beyond.id}`)).toBe(0);
      const hits = await cacheRequests(replica.metricsPort, "slot", "hit");
      const replicaApi = new SlotApi(replica.address);
      try {
        expect((await replicaApi.getSlot(farther.id)).slot).toEqual(farther);
      } finally {
        replicaApi.close();
      }
      expect(await cacheRequests(replica.metricsPort, "slot", "hit")).toBe(hits + 1);
    } finally {
      await replica.stop();
    }
  });

  describe("with its Redis killed", () => {
    let outage: StartedSlotService;
    let api: SlotApi;
    const server = privateRedis(
      async (url) => {
        outage = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: booking.address, REDIS_URL: url, CACHE_COOLDOWN_MS: "200" }, slotService.db);
        api = new SlotApi(outage.address);
      },
      async () => {
        api?.close();
        await outage?.stop();
      },
    );

    it("answers every read and write correctly, then fills the cache again after a restart", async () => {
      const doctorId = await doctors.create();
      const start = hoursAhead(70);
      const { slot } = await api.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity: 2 });
      await api.getSlot(slot!.id);
      await api.listSlots({ doctorId });

      await server.kill();
      const started = Date.now();
      expect((await api.getSlot(slot!.id)).slot).toEqual(slot);
      const { slot: updated } = await api.updateSlotCapacity(slot!.id, 5);
      expect((await api.getSlot(slot!.id)).slot).toEqual(updated);
      expect((await api.batchGetSlots([slot!.id])).slots).toEqual([updated]);
      expect((await api.listSlots({ doctorId })).slots).toEqual([updated]);
      const { slot: other } = await api.createSlot({ doctorId, startTime: addMinutes(start, 60), endTime: addMinutes(start, 90), capacity: 1 });
      expect((await api.listSlots({ doctorId })).slots).toEqual([updated, other]);
      await api.deleteSlot(other!.id);
      expect(await failure(api.getSlot(other!.id))).toMatchObject({ code: status.NOT_FOUND });
      expect((await api.listSlots({ doctorId })).slots).toEqual([updated]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await cacheRequests(outage.metricsPort, "slot", "error")).toBeGreaterThanOrEqual(3);

      await server.restart();
      await cachesAgain(outage.metricsPort, "slot", async () => expect((await api.getSlot(slot!.id)).slot).toEqual(updated));
      const listHits = await cacheRequests(outage.metricsPort, "doctor_slots", "hit");
      expect((await api.listSlots({ doctorId })).slots).toEqual([updated]);
      expect((await api.listSlots({ doctorId })).slots).toEqual([updated]);
      expect(await cacheRequests(outage.metricsPort, "doctor_slots", "hit")).toBeGreaterThan(listHits);
    });
  });
});
