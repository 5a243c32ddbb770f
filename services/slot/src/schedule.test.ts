import { DomainError, type FieldViolation } from "@clinic/platform/errors";
import { Validator } from "@clinic/platform/grpc";
import { Settings } from "luxon";
import { expandWeeklySchedule, parseWeeklySchedule, type ScheduleFields, type WeeklySchedule } from "./schedule";

const MON = 1;
const TUE = 2;
const WED = 3;
const THU = 4;
const FRI = 5;
const SAT = 6;
const SUN = 7;
const WORKDAYS = [MON, TUE, WED, THU, FRI];

function parse(fields: Partial<ScheduleFields>): WeeklySchedule {
  const v = new Validator();
  const schedule = parseWeeklySchedule(v, {
    timeZone: "Europe/Berlin",
    startDate: "2027-03-22",
    endDate: "2027-03-22",
    weekdays: WORKDAYS,
    dayStart: "09:00",
    dayEnd: "10:00",
    slotMinutes: 60,
    ...fields,
  });
  v.check();
  if (!schedule) throw new Error("no schedule and no violation");
  return schedule;
}

/** Slot starts (and the last end) as UTC ISO strings without milliseconds, easy to read. */
const utc = (d: Date): string => d.toISOString().replace(".000Z", "Z");
const starts = (fields: Partial<ScheduleFields>): string[] => expandWeeklySchedule(parse(fields)).map((s) => utc(s.start));

function violations(fields: Partial<ScheduleFields>): FieldViolation[] {
  try {
    parse(fields);
  } catch (err) {
    if (err instanceof DomainError) return [...err.violations];
    throw err;
  }
  throw new Error("expected the schedule to be refused");
}

describe("weekly schedule expansion across DST changes", () => {
  afterEach(() => {
    Settings.now = () => Date.now();
  });

  it("keeps wall-clock times across the spring change in Europe/Berlin (CET +1 -> CEST +2)", () => {
    // Clocks go forward on Sunday 2027-03-28: 09:00 is 08:00Z before, 07:00Z after.
    expect(starts({ startDate: "2027-03-22", endDate: "2027-04-02" })).toEqual([
      "2027-03-22T08:00:00Z",
      "2027-03-23T08:00:00Z",
      "2027-03-24T08:00:00Z",
      "2027-03-25T08:00:00Z",
      "2027-03-26T08:00:00Z",
      "2027-03-29T07:00:00Z",
      "2027-03-30T07:00:00Z",
      "2027-03-31T07:00:00Z",
      "2027-04-01T07:00:00Z",
      "2027-04-02T07:00:00Z",
    ]);
  });

  it("keeps wall-clock times across the autumn change in Europe/Berlin", () => {
    // Clocks go back on Sunday 2027-10-31.
    expect(starts({ startDate: "2027-10-29", endDate: "2027-11-01", weekdays: [FRI, SAT, SUN, MON] })).toEqual([
      "2027-10-29T07:00:00Z",
      "2027-10-30T07:00:00Z",
      "2027-10-31T08:00:00Z",
      "2027-11-01T08:00:00Z",
    ]);
  });

  it("keeps wall-clock times across both changes in America/New_York (EST -5 / EDT -4)", () => {
    const ny = { timeZone: "America/New_York", weekdays: [FRI, SAT, SUN, MON] };
    // Forward on Sunday 2027-03-14 at 02:00.
    expect(starts({ ...ny, startDate: "2027-03-12", endDate: "2027-03-15" })).toEqual([
      "2027-03-12T14:00:00Z",
      "2027-03-13T14:00:00Z",
      "2027-03-14T13:00:00Z",
      "2027-03-15T13:00:00Z",
    ]);
    // Back on Sunday 2027-11-07 at 02:00.
    expect(starts({ ...ny, startDate: "2027-11-05", endDate: "2027-11-08" })).toEqual([
      "2027-11-05T13:00:00Z",
      "2027-11-06T13:00:00Z",
      "2027-11-07T14:00:00Z",
      "2027-11-08T14:00:00Z",
    ]);
  });

  it("cuts a working day that contains the spring change into real-time slots: one fewer", () => {
    // 00:00-06:00 local on 2027-03-28 lasts five hours: 02:00-03:00 never happens.
    const slots = expandWeeklySchedule(parse({ startDate: "2027-03-28", endDate: "2027-03-28", weekdays: [SUN], dayStart: "00:00", dayEnd: "06:00" }));
    expect(slots.map((s) => utc(s.start))).toEqual([
      "2027-03-27T23:00:00Z",
      "2027-03-28T00:00:00Z",
      "2027-03-28T01:00:00Z",
      "2027-03-28T02:00:00Z",
      "2027-03-28T03:00:00Z",
    ]);
    expect(slots.every((s) => s.end.getTime() - s.start.getTime() === 3_600_000)).toBe(true);
    expect(utc(slots[slots.length - 1]!.end)).toBe("2027-03-28T04:00:00Z"); // 06:00 CEST
  });

  it("cuts a working day that contains the autumn change into real-time slots: one more", () => {
    // 00:00-06:00 local on 2027-10-31 lasts seven hours: 02:00-03:00 happens twice.
    const slots = expandWeeklySchedule(parse({ startDate: "2027-10-31", endDate: "2027-10-31", weekdays: [SUN], dayStart: "00:00", dayEnd: "06:00" }));
    expect(slots).toHaveLength(7);
    expect(utc(slots[0]!.start)).toBe("2027-10-30T22:00:00Z"); // 00:00 CEST
    expect(utc(slots[6]!.end)).toBe("2027-10-31T05:00:00Z"); // 06:00 CET
  });

  it("moves a day start inside the spring gap forward by the gap (RFC 5545)", () => {
    // 02:30 does not exist on 2027-03-28; it means 03:30 CEST = 01:30Z.
    expect(starts({ startDate: "2027-03-28", endDate: "2027-03-28", weekdays: [SUN], dayStart: "02:30", dayEnd: "04:00", slotMinutes: 30 })).toEqual([
      "2027-03-28T01:30:00Z",
    ]);
  });

  it("reads a day start inside the autumn overlap as its first occurrence, whatever today's offset", () => {
    // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET); the first is meant. luxon on its
    // own would choose by the offset in force today, so run the same request in summer and winter.
    const fields = { startDate: "2027-10-31", endDate: "2027-10-31", weekdays: [SUN], dayStart: "02:30", dayEnd: "03:30", slotMinutes: 30 };
    for (const today of ["2026-07-01T12:00:00Z", "2026-12-01T12:00:00Z"]) {
      Settings.now = () => Date.parse(today);
      expect(starts(fields)).toEqual(["2027-10-31T00:30:00Z", "2027-10-31T01:00:00Z", "2027-10-31T01:30:00Z", "2027-10-31T02:00:00Z"]);
    }
  });

  it("treats 24:00 as the next midnight and leaves a remainder shorter than a slot free", () => {
    const slots = expandWeeklySchedule(parse({ timeZone: "UTC", weekdays: [MON], dayStart: "22:00", dayEnd: "24:00", slotMinutes: 45 }));
    expect(slots.map((s) => [utc(s.start), utc(s.end)])).toEqual([
      ["2027-03-22T22:00:00Z", "2027-03-22T22:45:00Z"],
      ["2027-03-22T22:45:00Z", "2027-03-22T23:30:00Z"],
    ]);
  });

  it("uses only the chosen weekdays, and each chosen once", () => {
    expect(starts({ startDate: "2027-03-22", endDate: "2027-03-28", weekdays: [WED, WED, SUN] })).toEqual([
      "2027-03-24T08:00:00Z",
      "2027-03-28T07:00:00Z",
    ]);
  });

  it("refuses more than 2000 slots before building them", () => {
    const allDay = { dayStart: "00:00", dayEnd: "24:00", slotMinutes: 5 };
    const year = parse({ ...allDay, startDate: "2027-01-01", endDate: "2027-12-31", weekdays: [MON, TUE, WED, THU, FRI, SAT, SUN] });
    expect(() => expandWeeklySchedule(year)).toThrow(expect.objectContaining({ kind: "invalid_argument", reason: "TOO_MANY_SLOTS" }));
    expect(expandWeeklySchedule(parse({ ...allDay, startDate: "2027-03-22", endDate: "2027-03-22" }))).toHaveLength(288);
  });
});

describe("weekly schedule validation", () => {
  it("names every bad field at once", () => {
    expect(
      violations({
        timeZone: "Mars/Olympus_Mons",
        startDate: "2027-02-30",
        endDate: "27-03-01",
        weekdays: [0, 9],
        dayStart: "9:00",
        dayEnd: "25:00",
        slotMinutes: 0,
      }).map((x) => x.field),
    ).toEqual(["time_zone", "start_date", "end_date", "weekdays[0]", "weekdays[1]", "day_start", "day_end", "slot_minutes"]);
  });

  it.each<[string, Partial<ScheduleFields>, string]>([
    ["a fixed offset instead of a zone name", { timeZone: "+01:00" }, "time_zone"],
    ["an empty zone", { timeZone: "" }, "time_zone"],
    ["a date with a time", { startDate: "2027-03-22T10:00" }, "start_date"],
    ["an end before the start", { startDate: "2027-03-23", endDate: "2027-03-22" }, "end_date"],
    ["more than 366 days", { startDate: "2027-01-01", endDate: "2028-01-02" }, "end_date"],
    ["no weekday", { weekdays: [] }, "weekdays"],
    ["a time with seconds", { dayStart: "09:00:00" }, "day_start"],
    ["24:00 as a start", { dayStart: "24:00", dayEnd: "24:00" }, "day_start"],
    ["an end not after the start", { dayStart: "10:00", dayEnd: "10:00" }, "day_end"],
    ["slots longer than the day", { dayStart: "09:00", dayEnd: "10:00", slotMinutes: 61 }, "slot_minutes"],
    ["slots too short", { slotMinutes: 4 }, "slot_minutes"],
    ["slots longer than a day", { dayStart: "00:00", dayEnd: "24:00", slotMinutes: 1441 }, "slot_minutes"],
  ])("refuses %s", (_name, fields, field) => {
    expect(violations(fields).map((x) => x.field)).toContain(field);
  });

  it("accepts 366 days, inclusive, across a leap day", () => {
    expect(parse({ startDate: "2028-01-01", endDate: "2028-12-31" }).dayCount).toBe(366);
  });
});
