import { unary } from "@clinic/platform/grpc";
import { createRedis, type Redis } from "@clinic/platform/redis";
import { doctorV1 } from "@clinic/proto";
import {
  cacheRequests, cachesAgain, createScratchDatabase, freePort, privateRedis, RedisServer, type ScratchDatabase,
  stackEnv, startBooking, startDoctor, type StartedBooking, type StartedService, testClient, testLogger,
  uniqueKeyPrefix,
} from "@clinic/test-stack";

class Doctors {
  private readonly client: doctorV1.DoctorServiceClient;

  constructor(address: string) {
    this.client = testClient(doctorV1.DoctorServiceClient, address, "clinic.doctor.v1.DoctorService");
  }

  create = async (name: string, specialization = "cardiology") =>
    (await unary(this.client.createDoctor.bind(this.client), { name, specialization })).doctor!;
  update = async (id: string, name: string) => (await unary(this.client.updateDoctor.bind(this.client), { id, name })).doctor!;
  delete = (id: string) => unary(this.client.deleteDoctor.bind(this.client), { id });
  /** Names on one page. */
  list = async (req: Partial<doctorV1.ListDoctorsRequest> = {}) =>
    (await unary(this.client.listDoctors.bind(this.client), doctorV1.ListDoctorsRequest.fromPartial(req))).doctors.map((d) => d.name);

  close(): void {
    this.client.close();
  }
}

/**
 * ListDoctors through `doctors:all` (design section 5.2): warmed at start, served from Redis,
 * dropped as a whole by any doctor write, and still correct with Redis killed. Each service gets
 * its own key prefix: `doctors:all` would otherwise be shared with every parallel test stack.
 */
describe("doctor service list cache", () => {
  const shardDbs: ScratchDatabase[] = [];
  let booking: StartedBooking;
  let bookingAddress: string;
  let redis: Redis;

  beforeAll(async () => {
    // DeleteDoctor asks the booking service for active bookings first.
    shardDbs.push(await createScratchDatabase("doctor_cache_shard"));
    booking = await startBooking(shardDbs, { SLOT_ADDR: `127.0.0.1:${await freePort()}` });
    bookingAddress = booking.address;
    redis = createRedis(stackEnv("REDIS_URL"), testLogger());
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await booking?.stop();
    for (const db of shardDbs) await db.drop();
  });

  describe("on the stack's Redis", () => {
    const prefix = uniqueKeyPrefix("doctor");
    let service: StartedService;
    let doctors: Doctors;

    beforeAll(async () => {
      service = await startDoctor({ BOOKING_ADDR: bookingAddress, CACHE_KEY_PREFIX: prefix });
      doctors = new Doctors(service.address);
    });
    afterAll(async () => {
      doctors?.close();
      await service?.stop();
    });

    it("warms the first page at start, so the first ListDoctors is a hit", async () => {
      expect(await cacheRequests(service.metricsPort, "doctors", "miss")).toBe(1);
      expect(await redis.get(`${prefix}doctors:all:gen`)).toBeTruthy();
      expect(await doctors.list()).toEqual([]);
      expect(await cacheRequests(service.metricsPort, "doctors", "hit")).toBe(1);
      expect(await cacheRequests(service.metricsPort, "doctors", "miss")).toBe(1);
    });

    it("shows every create, update and delete at once, in every cached list", async () => {
      const ada = await doctors.create("Dr. Ada");
      expect(await doctors.list()).toEqual(["Dr. Ada"]);
      expect(await doctors.list({ specialization: "cardiology", nameQuery: "ADA" })).toEqual(["Dr. Ada"]);
      const hits = await cacheRequests(service.metricsPort, "doctors", "hit");
      expect(await doctors.list()).toEqual(["Dr. Ada"]);
      expect(await doctors.list({ specialization: "cardiology", nameQuery: "ada" })).toEqual(["Dr. Ada"]);
      // The name search is case-insensitive, so "ADA" and "ada" share one entry.
      expect(await cacheRequests(service.metricsPort, "doctors", "hit")).toBe(hits + 2);

      const bob = await doctors.create("Dr. Bob", "dermatology");
      expect(await doctors.list()).toEqual(["Dr. Ada", "Dr. Bob"]);
      await doctors.update(ada.id, "Dr. Ada King");
      expect(await doctors.list()).toEqual(["Dr. Ada King", "Dr. Bob"]);
      expect(await doctors.list({ specialization: "cardiology", nameQuery: "ada" })).toEqual(["Dr. Ada King"]);
      await doctors.delete(bob.id);
      expect(await doctors.list()).toEqual(["Dr. Ada King"]);
      expect(await doctors.list({ pageSize: 1 })).toEqual(["Dr. Ada King"]);
    });
  });

  describe("with its Redis killed", () => {
    let service: StartedService;
    let doctors: Doctors;
    const server = privateRedis(
      async (url) => {
        service = await startDoctor({ BOOKING_ADDR: bookingAddress, REDIS_URL: url, CACHE_COOLDOWN_MS: "200" });
        doctors = new Doctors(service.address);
      },
      async () => {
        doctors?.close();
        await service?.stop();
      },
    );

    it("lists correctly through every write, then caches again after a restart", async () => {
      const first = await doctors.create("Dr. First");
      expect(await doctors.list()).toEqual(["Dr. First"]);

      await server.kill();
      const started = Date.now();
      expect(await doctors.list()).toEqual(["Dr. First"]);
      const second = await doctors.create("Dr. Second");
      expect(await doctors.list()).toEqual(["Dr. First", "Dr. Second"]);
      await doctors.update(first.id, "Dr. Zed");
      expect(await doctors.list()).toEqual(["Dr. Second", "Dr. Zed"]);
      await doctors.delete(second.id);
      expect(await doctors.list()).toEqual(["Dr. Zed"]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await cacheRequests(service.metricsPort, "doctors", "error")).toBeGreaterThanOrEqual(4);

      await server.restart();
      await cachesAgain(service.metricsPort, "doctors", async () => expect(await doctors.list()).toEqual(["Dr. Zed"]));
    });

    it("starts with Redis down, serving uncached", async () => {
      const down = await RedisServer.start();
      await down.kill();
      const other = await startDoctor({ BOOKING_ADDR: bookingAddress, REDIS_URL: down.url });
      const api = new Doctors(other.address);
      try {
        await api.create("Dr. Solo");
        expect(await api.list()).toEqual(["Dr. Solo"]);
        expect(await cacheRequests(other.metricsPort, "doctors", "error")).toBeGreaterThanOrEqual(1);
      } finally {
        api.close();
        await other.stop();
      }
    });
  });
});
