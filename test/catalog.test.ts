import { randomUUID } from "node:crypto";
import { addMinutes, expectError, Fixtures, hoursAhead, Http, type Stack, startStackWithFixtures } from "@clinic/test-stack";

/**
 * Doctors and slots through the edge, over the real doctor, slot and booking services: CRUD,
 * listing and pagination, and how their domain errors come out in HTTP.
 */
describe("doctors and slots through the edge", () => {
  let stack: Stack, http: Http, make: Fixtures;
  beforeAll(async () => ({ stack, http, make } = await startStackWithFixtures({ name: "e2e_catalog" })));
  afterAll(() => stack?.stop());

  it("is ready once every backend answers its health check", async () => {
    const res = await http.get("/readyz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ready", backends: { doctor: "SERVING", slot: "SERVING", booking: "SERVING" } });
  });

  describe("doctors", () => {
    it("creates, reads, updates and deletes a doctor", async () => {
      const created = await http.post("/api/v1/doctors", { name: "Dr. Ada Lovelace", specialization: "cardiology" });
      expect(created.status).toBe(201);
      const doctor = created.body;
      expect(doctor).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: "Dr. Ada Lovelace",
        specialization: "cardiology",
        createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updateTime: expect.stringMatching(/Z$/),
      });
      expect(created.headers.get("location")).toBe(`/api/v1/doctors/${doctor.id}`);

      expect((await http.get(`/api/v1/doctors/${doctor.id}`)).body).toEqual(doctor);

      const renamed = await http.patch(`/api/v1/doctors/${doctor.id}`, { name: "Dr. Ada King" });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toEqual(expect.objectContaining({ id: doctor.id, name: "Dr. Ada King", specialization: "cardiology" }));

      const deleted = await http.delete(`/api/v1/doctors/${doctor.id}`);
      expect(deleted.status).toBe(204);
      expect(deleted.body).toBeUndefined();
      expectError(await http.get(`/api/v1/doctors/${doctor.id}`), 404, "DOCTOR_NOT_FOUND");
      expectError(await http.delete(`/api/v1/doctors/${doctor.id}`), 404, "DOCTOR_NOT_FOUND");
      expectError(await http.patch(`/api/v1/doctors/${doctor.id}`, { name: "x" }), 404, "DOCTOR_NOT_FOUND");
    });

    it("passes the service's own validation through with HTTP field names", async () => {
      const res = await http.post("/api/v1/doctors", { name: "   ", specialization: "cardiology" });
      const error = expectError(res, 400, "VALIDATION_FAILED");
      expect(error.details).toEqual([{ field: "name", message: "is required" }]);
    });

    it("lists by specialization and name, one page at a time, each doctor once", async () => {
      const specialization = `dermatology-${randomUUID().slice(0, 8)}`;
      const names = ["Dr. Alice Grey", "Dr. Bob Grey", "Dr. Carol White", "Dr. Dan Grey", "Dr. Eve Grey"];
      for (const name of names) await make.doctor(specialization, name);
      await make.doctor("other", "Dr. Frank Grey");

      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const query = new URLSearchParams({ specialization, q: "grey", pageSize: "2", ...(token ? { pageToken: token } : {}) });
        const res = await http.get(`/api/v1/doctors?${query}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.doctors.map((d: { name: string }) => d.name));
        token = res.body.nextPageToken;
        pages++;
      } while (token);
      expect(seen).toEqual(["Dr. Alice Grey", "Dr. Bob Grey", "Dr. Dan Grey", "Dr. Eve Grey"]);
      expect(pages).toBe(2);
    });

    it("refuses a forged page token as a validation error", async () => {
      const res = await http.get("/api/v1/doctors?pageToken=not-a-token");
      const error = expectError(res, 400, "VALIDATION_FAILED");
      expect(error.details).toEqual([{ field: "pageToken", message: "is not a valid page token" }]);
    });
  });

  describe("slots", () => {
    it("creates, reads, lists, resizes and deletes a slot", async () => {
      const doctor = await make.doctor();
      const start = hoursAhead(48);
      const created = await http.post(`/api/v1/doctors/${doctor.id}/slots`, {
        // An offset is accepted; answers are UTC.
        startTime: start.toISOString().replace("Z", "+00:00"),
        endTime: addMinutes(start, 30).toISOString(),
        capacity: 3,
      });
      expect(created.status).toBe(201);
      const slot = created.body;
      expect(slot).toEqual(
        expect.objectContaining({ doctorId: doctor.id, startTime: start.toISOString(), endTime: addMinutes(start, 30).toISOString(), capacity: 3 }),
      );
      expect(created.headers.get("location")).toBe(`/api/v1/slots/${slot.id}`);
      expect((await http.get(`/api/v1/slots/${slot.id}`)).body).toEqual(slot);

      const listed = await http.get(
        `/api/v1/doctors/${doctor.id}/slots?startFrom=${encodeURIComponent(addMinutes(start, -1).toISOString())}&startTo=${encodeURIComponent(addMinutes(start, 1).toISOString())}`,
      );
      expect(listed.body).toEqual({ slots: [slot] });
      const outside = await http.get(`/api/v1/doctors/${doctor.id}/slots?startFrom=${encodeURIComponent(addMinutes(start, 1).toISOString())}`);
      expect(outside.body).toEqual({ slots: [] });

      const missing = randomUUID();
      const batch = await http.get(`/api/v1/slots?ids=${slot.id},${missing}`);
      expect(batch.body).toEqual({ slots: [slot], missingIds: [missing] });

      const resized = await http.patch(`/api/v1/slots/${slot.id}`, { capacity: 5 });
      expect(resized.status).toBe(200);
      expect(resized.body.capacity).toBe(5);
      const availability = await http.get(`/api/v1/availability?slotIds=${slot.id}`);
      expect(availability.body).toEqual({ availability: [{ slotId: slot.id, capacity: 5, held: 0, remaining: 5 }], missingSlotIds: [] });

      expect((await http.delete(`/api/v1/slots/${slot.id}`)).status).toBe(204);
      expectError(await http.get(`/api/v1/slots/${slot.id}`), 404, "SLOT_NOT_FOUND");
    });

    it("expands a weekly schedule into slots", async () => {
      const doctor = await make.doctor();
      // A Monday at least 30 days ahead, and the week that starts with it.
      const monday = new Date(Date.now() + 30 * 86_400_000);
      monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7));
      const day = (offset: number) => new Date(monday.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
      const res = await http.post(`/api/v1/doctors/${doctor.id}/slots/batch`, {
        timeZone: "Europe/Berlin",
        startDate: day(0),
        endDate: day(6),
        weekdays: ["monday", "wednesday"],
        dayStart: "09:00",
        dayEnd: "10:00",
        slotMinutes: 30,
        capacity: 2,
      });
      expect(res.status).toBe(201);
      expect(res.body.slots).toHaveLength(4);
      for (const slot of res.body.slots) expect(slot).toEqual(expect.objectContaining({ doctorId: doctor.id, capacity: 2 }));
      const listed = await http.get(`/api/v1/doctors/${doctor.id}/slots?pageSize=100`);
      expect(listed.body.slots.map((s: { id: string }) => s.id).sort()).toEqual(res.body.slots.map((s: { id: string }) => s.id).sort());

      // Applying it again overlaps every slot: all or nothing.
      const again = await http.post(`/api/v1/doctors/${doctor.id}/slots/batch`, {
        timeZone: "Europe/Berlin",
        startDate: day(0),
        endDate: day(0),
        weekdays: ["monday"],
        dayStart: "09:00",
        dayEnd: "24:00",
        slotMinutes: 60,
        capacity: 2,
      });
      expectError(again, 409, "SLOT_OVERLAP");
    });

    it("maps slot domain errors: unknown doctor, end before start, slot in the past", async () => {
      const start = hoursAhead(72);
      expectError(
        await http.post(`/api/v1/doctors/${randomUUID()}/slots`, {
          startTime: start.toISOString(),
          endTime: addMinutes(start, 30).toISOString(),
          capacity: 1,
        }),
        404,
        "DOCTOR_NOT_FOUND",
      );
      const doctor = await make.doctor();
      const backwards = expectError(
        await http.post(`/api/v1/doctors/${doctor.id}/slots`, {
          startTime: start.toISOString(),
          endTime: addMinutes(start, -30).toISOString(),
          capacity: 1,
        }),
        400,
        "VALIDATION_FAILED",
      );
      expect(backwards.details).toEqual([{ field: "endTime", message: "must be after start_time" }]);
      const past = hoursAhead(-48);
      expectError(
        await http.post(`/api/v1/doctors/${doctor.id}/slots`, {
          startTime: past.toISOString(),
          endTime: addMinutes(past, 30).toISOString(),
          capacity: 1,
        }),
        422,
        "SLOT_IN_PAST",
      );
    });

    it("refuses to shrink a slot below its held seats or delete it with active bookings", async () => {
      const doctor = await make.doctor();
      const slot = await make.slot(doctor.id, { capacity: 2 });
      for (let i = 0; i < 2; i++) {
        expect((await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(slot.id))).status).toBe(201);
      }
      expectError(await http.patch(`/api/v1/slots/${slot.id}`, { capacity: 1 }), 422, "CAPACITY_BELOW_HELD");
      expectError(await http.delete(`/api/v1/slots/${slot.id}`), 409, "SLOT_HAS_ACTIVE_BOOKINGS");
      expectError(await http.delete(`/api/v1/doctors/${doctor.id}`), 409, "DOCTOR_HAS_ACTIVE_BOOKINGS");
    });
  });
});
