import { encodeCursor } from "@clinic/platform/grpc";
import { slotV1 } from "@clinic/proto";
import {
  addMinutes, DoctorApi, failure, freePort, hoursAhead, SlotApi, startDoctor, type StartedService, startSlot,
} from "@clinic/test-stack";
import { status } from "@grpc/grpc-js";
import { DateTime } from "luxon";

const { Weekday } = slotV1;
const WORKDAYS = [Weekday.WEEKDAY_MONDAY, Weekday.WEEKDAY_TUESDAY, Weekday.WEEKDAY_WEDNESDAY, Weekday.WEEKDAY_THURSDAY, Weekday.WEEKDAY_FRIDAY];
const EVERY_DAY = [...WORKDAYS, Weekday.WEEKDAY_SATURDAY, Weekday.WEEKDAY_SUNDAY];
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

const iso = (d: Date | undefined): string => (d ? d.toISOString() : "(unset)");

/** The Sunday on which clocks change: the last (or n-th) Sunday of a month of next year. */
function sundayOf(zoneYear: number, month: number, which: "last" | 1 | 2): DateTime {
  if (which === "last") {
    let d = DateTime.fromObject({ year: zoneYear, month, day: 1 }, { zone: "utc" }).endOf("month").startOf("day");
    while (d.weekday !== 7) d = d.minus({ days: 1 });
    return d;
  }
  let d = DateTime.fromObject({ year: zoneYear, month, day: 1 }, { zone: "utc" });
  while (d.weekday !== 7) d = d.plus({ days: 1 });
  return d.plus({ weeks: which - 1 });
}

describe("slot service over gRPC, with the real doctor service", () => {
  let doctorService: StartedService;
  let slotService: StartedService;
  let doctors: DoctorApi;
  let slots: SlotApi;

  beforeAll(async () => {
    doctorService = await startDoctor();
    // Nothing listens on the booking address: capacity changes and deletes must report the
    // booking service unavailable (slot-booking.test.ts runs them against the real one).
    slotService = await startSlot({ DOCTOR_ADDR: doctorService.address, BOOKING_ADDR: `127.0.0.1:${await freePort()}` });
    doctors = new DoctorApi(doctorService.address);
    slots = new SlotApi(slotService.address);
  });

  afterAll(async () => {
    slots?.close();
    doctors?.close();
    await slotService?.stop();
    await doctorService?.stop();
  });

  describe("CreateSlot and reads", () => {
    it("creates a slot and reads it back by id, in a batch and in a list", async () => {
      const doctorId = await doctors.create();
      const start = hoursAhead(48);
      const { slot } = await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity: 3 });
      expect(slot).toMatchObject({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity: 3 });
      expect(slot!.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(slot!.createTime).toBeInstanceOf(Date);

      expect((await slots.getSlot(slot!.id)).slot).toEqual(slot);
      // Ids are case-insensitive on the way in.
      expect((await slots.getSlot(slot!.id.toUpperCase())).slot).toEqual(slot);
      expect((await slots.listSlots({ doctorId })).slots).toEqual([slot]);
    });

    it("answers NOT_FOUND for an unknown slot", async () => {
      expect(await failure(slots.getSlot(UNKNOWN_ID))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
    });

    it("batch-gets in request order, once per id, and lists the missing ids", async () => {
      const doctorId = await doctors.create();
      const start = hoursAhead(72);
      const created = [];
      for (let i = 0; i < 3; i++) {
        created.push((await slots.createSlot({ doctorId, startTime: addMinutes(start, 30 * i), endTime: addMinutes(start, 30 * i + 30), capacity: 1 })).slot!);
      }
      const [a, b, c] = created.map((s) => s.id) as [string, string, string];
      const missing = "11111111-1111-4111-8111-111111111111";
      const response = await slots.batchGetSlots([c, missing, a, c, b]);
      expect(response.slots.map((s) => s.id)).toEqual([c, a, b]);
      expect(response.missingIds).toEqual([missing]);
      expect(await slots.batchGetSlots([])).toEqual({ slots: [], missingIds: [] });
    });

    it("pages through one doctor's slots in time order with opaque tokens, within [start_from, start_to)", async () => {
      const doctorId = await doctors.create();
      const other = await doctors.create();
      const start = hoursAhead(96);
      // Created out of order, so the list order comes from the query, not from insertion.
      for (const i of [4, 0, 6, 2, 5, 1, 3]) {
        await slots.createSlot({ doctorId, startTime: addMinutes(start, 60 * i), endTime: addMinutes(start, 60 * i + 45), capacity: 1 });
      }
      await slots.createSlot({ doctorId: other, startTime: start, endTime: addMinutes(start, 45), capacity: 1 });

      const seen: string[] = [];
      const pageSizes: number[] = [];
      let pageToken = "";
      do {
        const page = await slots.listSlots({ doctorId, pageSize: 3, pageToken });
        pageSizes.push(page.slots.length);
        seen.push(...page.slots.map((s) => iso(s.startTime)));
        expect(page.slots.every((s) => s.doctorId === doctorId)).toBe(true);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(pageSizes).toEqual([3, 3, 1]);
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => iso(addMinutes(start, 60 * i))));

      // start_from is inclusive, start_to exclusive.
      const inRange = await slots.listSlots({ doctorId, startFrom: addMinutes(start, 60), startTo: addMinutes(start, 240) });
      expect(inRange.slots.map((s) => iso(s.startTime))).toEqual([1, 2, 3].map((i) => iso(addMinutes(start, 60 * i))));
      expect(inRange.nextPageToken).toBe("");
      const range = { doctorId, startFrom: addMinutes(start, 60), startTo: addMinutes(start, 240), pageSize: 2 };
      const firstPage = await slots.listSlots(range);
      const rest = await slots.listSlots({ ...range, pageToken: firstPage.nextPageToken });
      expect([...firstPage.slots, ...rest.slots].map((s) => iso(s.startTime))).toEqual(inRange.slots.map((s) => iso(s.startTime)));
      expect(rest.nextPageToken).toBe("");
    });
  });

  describe("overlap", () => {
    it("refuses an overlapping slot of the same doctor, but not a back-to-back one or another doctor's", async () => {
      const doctorId = await doctors.create();
      const start = hoursAhead(120);
      await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 60), capacity: 1 });

      expect(await failure(slots.createSlot({ doctorId, startTime: addMinutes(start, 30), endTime: addMinutes(start, 90), capacity: 1 }))).toMatchObject({
        code: status.ABORTED,
        reason: "SLOT_OVERLAP",
      });
      // Enclosing the existing slot is an overlap too.
      expect(await failure(slots.createSlot({ doctorId, startTime: addMinutes(start, -30), endTime: addMinutes(start, 90), capacity: 1 }))).toMatchObject({
        reason: "SLOT_OVERLAP",
      });
      await slots.createSlot({ doctorId, startTime: addMinutes(start, 60), endTime: addMinutes(start, 120), capacity: 1 });
      await slots.createSlot({ doctorId: await doctors.create(), startTime: addMinutes(start, 30), endTime: addMinutes(start, 90), capacity: 1 });
      expect((await slots.listSlots({ doctorId })).slots).toHaveLength(2);
    });

    it("lets exactly one of several concurrent overlapping creates win", async () => {
      const doctorId = await doctors.create();
      const start = hoursAhead(144);
      // Every range contains start + 50 min, so any two overlap.
      const results = await Promise.allSettled(
        [0, 10, 20, 30, 40, 50].map((offset) =>
          slots.createSlot({ doctorId, startTime: addMinutes(start, offset), endTime: addMinutes(start, offset + 60), capacity: 1 }),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === "rejected")) {
        expect(await failure(Promise.reject(lost.reason))).toMatchObject({ code: status.ABORTED, reason: "SLOT_OVERLAP" });
      }
      expect((await slots.listSlots({ doctorId })).slots).toHaveLength(1);
    });
  });

  describe("CreateSlots (weekly schedule)", () => {
    const nextYear = DateTime.utc().year + 1;

    it("expands a Europe/Berlin schedule across the spring DST change at fixed wall-clock times", async () => {
      const doctorId = await doctors.create();
      const changeDay = sundayOf(nextYear, 3, "last"); // CET (+1) -> CEST (+2)
      const { slots: created } = await slots.createSlots({
        doctorId,
        timeZone: "Europe/Berlin",
        startDate: changeDay.minus({ days: 6 }).toISODate()!,
        endDate: changeDay.plus({ days: 5 }).toISODate()!,
        weekdays: WORKDAYS,
        dayStart: "09:00",
        dayEnd: "10:00",
        slotMinutes: 30,
        capacity: 4,
      });
      const expected = [-6, -5, -4, -3, -2, 1, 2, 3, 4, 5].flatMap((offset) => {
        const date = changeDay.plus({ days: offset });
        const hourUtc = offset < 0 ? 8 : 7; // 09:00 local
        return [0, 30].map((minute) => date.set({ hour: hourUtc, minute }).toJSDate().toISOString());
      });
      expect(created.map((s) => iso(s.startTime))).toEqual(expected);
      expect(created.every((s) => s.capacity === 4 && s.endTime!.getTime() - s.startTime!.getTime() === 30 * 60_000)).toBe(true);
      // They are real rows: the doctor's list shows the same instants.
      expect((await slots.listSlots({ doctorId, pageSize: 100 })).slots.map((s) => iso(s.startTime))).toEqual(expected);
    });

    it("expands an America/New_York schedule across the autumn DST change", async () => {
      const doctorId = await doctors.create();
      const changeDay = sundayOf(nextYear, 11, 1); // EDT (-4) -> EST (-5)
      const { slots: created } = await slots.createSlots({
        doctorId,
        timeZone: "America/New_York",
        startDate: changeDay.minus({ days: 2 }).toISODate()!,
        endDate: changeDay.plus({ days: 1 }).toISODate()!,
        weekdays: EVERY_DAY,
        dayStart: "09:00",
        dayEnd: "09:45",
        slotMinutes: 45,
        capacity: 1,
      });
      expect(created.map((s) => iso(s.startTime))).toEqual(
        [
          [-2, 13],
          [-1, 13],
          [0, 14],
          [1, 14],
        ].map(([offset, hourUtc]) => changeDay.plus({ days: offset! }).set({ hour: hourUtc! }).toJSDate().toISOString()),
      );
    });

    it("cuts the night of the spring change in Europe/Berlin into real-time slots (one hour never happens)", async () => {
      const doctorId = await doctors.create();
      const changeDay = sundayOf(nextYear, 3, "last");
      const { slots: created } = await slots.createSlots({
        doctorId,
        timeZone: "Europe/Berlin",
        startDate: changeDay.toISODate()!,
        endDate: changeDay.toISODate()!,
        weekdays: [Weekday.WEEKDAY_SUNDAY],
        dayStart: "00:00",
        dayEnd: "06:00",
        slotMinutes: 60,
        capacity: 1,
      });
      // 00:00 CET is 23:00Z the day before; 06:00 CEST is 04:00Z.
      expect(created.map((s) => iso(s.startTime))).toEqual([-1, 0, 1, 2, 3].map((h) => changeDay.plus({ hours: h }).toJSDate().toISOString()));
      expect(iso(created[created.length - 1]!.endTime)).toBe(changeDay.plus({ hours: 4 }).toJSDate().toISOString());
    });

    it("creates nothing when any generated slot overlaps an existing one (all or nothing)", async () => {
      const doctorId = await doctors.create();
      const monday = sundayOf(nextYear, 6, 1).plus({ days: 1 });
      // An existing slot on the Wednesday at 10:00-10:30 UTC (12:00 in Berlin, summer time).
      const existing = monday.plus({ days: 2 }).set({ hour: 10 }).toJSDate();
      await slots.createSlot({ doctorId, startTime: existing, endTime: addMinutes(existing, 30), capacity: 1 });

      const request = {
        doctorId,
        timeZone: "Europe/Berlin",
        startDate: monday.toISODate()!,
        endDate: monday.plus({ days: 4 }).toISODate()!,
        weekdays: WORKDAYS,
        dayStart: "08:00",
        dayEnd: "16:00",
        slotMinutes: 20,
        capacity: 2,
      };
      expect(await failure(slots.createSlots(request))).toMatchObject({ code: status.ABORTED, reason: "SLOT_OVERLAP" });
      expect((await slots.listSlots({ doctorId, pageSize: 100 })).slots).toHaveLength(1);

      // Without the Wednesday, the same schedule goes through.
      const { slots: created } = await slots.createSlots({ ...request, weekdays: WORKDAYS.filter((d) => d !== Weekday.WEEKDAY_WEDNESDAY) });
      expect(created).toHaveLength(4 * 24);
    });

    it("refuses a schedule that begins in the past instead of skipping its past part", async () => {
      const doctorId = await doctors.create();
      const today = DateTime.utc();
      const failed = await failure(
        slots.createSlots({
          doctorId,
          timeZone: "UTC",
          startDate: today.minus({ days: 1 }).toISODate()!,
          endDate: today.plus({ days: 1 }).toISODate()!,
          weekdays: EVERY_DAY,
          dayStart: "00:00",
          dayEnd: "24:00",
          slotMinutes: 60,
          capacity: 1,
        }),
      );
      expect(failed).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "SLOT_IN_PAST" });
      expect((await slots.listSlots({ doctorId })).slots).toHaveLength(0);
    });

    it("refuses a schedule of more than 2000 slots and one of no slot", async () => {
      const doctorId = await doctors.create();
      const base = { doctorId, timeZone: "UTC", weekdays: EVERY_DAY, dayStart: "00:00", dayEnd: "24:00", capacity: 1 };
      expect(
        await failure(slots.createSlots({ ...base, startDate: `${nextYear}-01-01`, endDate: `${nextYear}-12-31`, slotMinutes: 60 })),
      ).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "TOO_MANY_SLOTS" });
      // A Monday-only schedule over a Tuesday-to-Saturday range.
      const tuesday = sundayOf(nextYear, 5, 1).plus({ days: 2 });
      expect(
        await failure(
          slots.createSlots({
            ...base,
            weekdays: [Weekday.WEEKDAY_MONDAY],
            startDate: tuesday.toISODate()!,
            endDate: tuesday.plus({ days: 4 }).toISODate()!,
            slotMinutes: 60,
          }),
        ),
      ).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "EMPTY_SCHEDULE", fields: ["weekdays"] });
      expect((await slots.listSlots({ doctorId })).slots).toHaveLength(0);
    });

    it("names every bad schedule field", async () => {
      const failed = await failure(
        slots.createSlots({
          doctorId: "not-a-uuid",
          timeZone: "Europe/Atlantis",
          startDate: "2027-13-01",
          endDate: "tomorrow",
          weekdays: [Weekday.WEEKDAY_UNSPECIFIED],
          dayStart: "9am",
          dayEnd: "17:60",
          slotMinutes: 2,
          capacity: 0,
        }),
      );
      expect(failed.code).toBe(status.INVALID_ARGUMENT);
      expect(failed.reason).toBe("VALIDATION_FAILED");
      expect(failed.fields.sort()).toEqual(
        ["doctor_id", "capacity", "time_zone", "start_date", "end_date", "weekdays[0]", "day_start", "day_end", "slot_minutes"].sort(),
      );
    });

    it("refuses an unknown doctor", async () => {
      const failed = await failure(
        slots.createSlots({
          doctorId: UNKNOWN_ID,
          timeZone: "Europe/Berlin",
          startDate: `${nextYear}-02-01`,
          endDate: `${nextYear}-02-07`,
          weekdays: WORKDAYS,
          dayStart: "09:00",
          dayEnd: "12:00",
          slotMinutes: 30,
          capacity: 1,
        }),
      );
      expect(failed).toMatchObject({ code: status.NOT_FOUND, reason: "DOCTOR_NOT_FOUND", fields: ["doctor_id"] });
    });
  });

  describe("refusals", () => {
    it("refuses a slot for an unknown doctor", async () => {
      const start = hoursAhead(24);
      expect(await failure(slots.createSlot({ doctorId: UNKNOWN_ID, startTime: start, endTime: addMinutes(start, 30), capacity: 1 }))).toMatchObject({
        code: status.NOT_FOUND,
        reason: "DOCTOR_NOT_FOUND",
        fields: ["doctor_id"],
      });
    });

    it("refuses a slot in the past, also one that has already begun", async () => {
      const doctorId = await doctors.create();
      const begun = addMinutes(new Date(), -10);
      expect(await failure(slots.createSlot({ doctorId, startTime: begun, endTime: addMinutes(begun, 30), capacity: 1 }))).toMatchObject({
        code: status.FAILED_PRECONDITION,
        reason: "SLOT_IN_PAST",
      });
      const yesterday = hoursAhead(-24);
      expect(await failure(slots.createSlot({ doctorId, startTime: yesterday, endTime: addMinutes(yesterday, 30), capacity: 1 }))).toMatchObject({
        reason: "SLOT_IN_PAST",
      });
    });

    // Each case overrides a valid request starting two days ahead; fields are built from that start.
    it.each<[string, (start: Date) => Partial<slotV1.CreateSlotRequest> | undefined, string[]]>([
      ["nothing at all", () => undefined, ["doctor_id", "start_time", "end_time", "capacity"]],
      ["a malformed doctor id", () => ({ doctorId: "doctor-1" }), ["doctor_id"]],
      ["no end", () => ({ endTime: undefined }), ["end_time"]],
      ["an end before the start", (start) => ({ endTime: addMinutes(start, -60) }), ["end_time"]],
      ["an end equal to the start", (start) => ({ endTime: start }), ["end_time"]],
      ["a slot longer than 24 hours", (start) => ({ endTime: addMinutes(start, 24 * 60 + 1) }), ["end_time"]],
      ["capacity 0", () => ({ capacity: 0 }), ["capacity"]],
      ["a negative capacity", () => ({ capacity: -5 }), ["capacity"]],
      ["capacity above 1000", () => ({ capacity: 1001 }), ["capacity"]],
      // Beyond google.protobuf.Timestamp's range, where PostgreSQL would refuse the value.
      [
        "times after the year 9999",
        () => ({ startTime: new Date("+020000-01-01T00:00:00Z"), endTime: new Date("+020000-01-01T01:00:00Z") }),
        ["start_time", "end_time"],
      ],
    ])("refuses CreateSlot with %s, naming the field", async (_name, override, fields) => {
      const start = hoursAhead(48);
      const overrides = override(start);
      const request = overrides ? { doctorId: UNKNOWN_ID, startTime: start, endTime: addMinutes(start, 30), capacity: 1, ...overrides } : {};
      expect(await failure(slots.createSlot(request))).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "VALIDATION_FAILED", fields });
    });

    it("refuses malformed ids, batches and list requests, naming the field", async () => {
      const invalid = { code: status.INVALID_ARGUMENT, reason: "VALIDATION_FAILED" };
      expect(await failure(slots.getSlot("42"))).toMatchObject({ ...invalid, fields: ["id"] });
      expect(await failure(slots.getSlot(""))).toMatchObject({ ...invalid, fields: ["id"] });
      expect(await failure(slots.batchGetSlots([UNKNOWN_ID, "x"]))).toMatchObject({ ...invalid, fields: ["ids[1]"] });
      expect(await failure(slots.batchGetSlots(Array.from({ length: 101 }, () => UNKNOWN_ID)))).toMatchObject({ ...invalid, fields: ["ids"] });
      expect(await failure(slots.updateSlotCapacity("x", 0))).toMatchObject({ ...invalid, fields: ["id", "capacity"] });
      expect(await failure(slots.deleteSlot("x"))).toMatchObject({ ...invalid, fields: ["id"] });

      expect(await failure(slots.listSlots({}))).toMatchObject({ ...invalid, fields: ["doctor_id"] });
      const doctorId = UNKNOWN_ID;
      expect(await failure(slots.listSlots({ doctorId, pageSize: 101 }))).toMatchObject({ ...invalid, fields: ["page_size"] });
      expect(await failure(slots.listSlots({ doctorId, pageSize: -1 }))).toMatchObject({ ...invalid, fields: ["page_size"] });
      const t = hoursAhead(24);
      expect(await failure(slots.listSlots({ doctorId, startFrom: t, startTo: t }))).toMatchObject({ ...invalid, fields: ["start_to"] });
      const ancient = new Date("-005000-01-01T00:00:00Z");
      expect(await failure(slots.listSlots({ doctorId, startFrom: ancient }))).toMatchObject({ ...invalid, fields: ["start_from"] });
      expect(await failure(slots.listSlots({ doctorId, pageToken: encodeCursor({ s: ancient.toISOString(), i: UNKNOWN_ID }) }))).toMatchObject({
        ...invalid,
        fields: ["page_token"],
      });
      expect(await failure(slots.listSlots({ doctorId, pageToken: "not a token" }))).toMatchObject({ ...invalid, fields: ["page_token"] });
      // Well-formed tokens whose contents were tampered with never reach SQL.
      const tampered = [{ s: "yesterday", i: UNKNOWN_ID }, { s: t.toISOString(), i: "1 OR 1=1" }, { s: 5, i: UNKNOWN_ID }];
      for (const token of tampered.map(encodeCursor)) {
        expect(await failure(slots.listSlots({ doctorId, pageToken: token }))).toMatchObject({ ...invalid, fields: ["page_token"] });
      }
    });

    it("answers NOT_FOUND for capacity changes and deletes of unknown slots", async () => {
      expect(await failure(slots.updateSlotCapacity(UNKNOWN_ID, 2))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
      expect(await failure(slots.deleteSlot(UNKNOWN_ID))).toMatchObject({ code: status.NOT_FOUND, reason: "SLOT_NOT_FOUND" });
    });
  });

  describe("when a downstream service is down", () => {
    it("reports the booking service UNAVAILABLE and keeps the slot as it was", async () => {
      const doctorId = await doctors.create();
      const start = hoursAhead(200);
      const { slot } = await slots.createSlot({ doctorId, startTime: start, endTime: addMinutes(start, 30), capacity: 2 });
      const unavailable = { code: status.UNAVAILABLE, reason: "BOOKING_SERVICE_UNAVAILABLE" };
      expect(await failure(slots.updateSlotCapacity(slot!.id, 5))).toMatchObject(unavailable);
      expect(await failure(slots.deleteSlot(slot!.id))).toMatchObject(unavailable);
      expect((await slots.getSlot(slot!.id)).slot).toEqual(slot);
    });

    it("reports the doctor service UNAVAILABLE", async () => {
      const lonely = await startSlot({ DOCTOR_ADDR: `127.0.0.1:${await freePort()}`, BOOKING_ADDR: `127.0.0.1:${await freePort()}` });
      const client = new SlotApi(lonely.address);
      try {
        const start = hoursAhead(24);
        expect(await failure(client.createSlot({ doctorId: UNKNOWN_ID, startTime: start, endTime: addMinutes(start, 30), capacity: 1 }))).toMatchObject({
          code: status.UNAVAILABLE,
          reason: "DOCTOR_SERVICE_UNAVAILABLE",
        });
      } finally {
        client.close();
        await lonely.stop();
      }
    });
  });
});
