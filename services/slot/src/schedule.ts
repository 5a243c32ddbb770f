import { DomainError } from "@clinic/platform/errors";
import type { Validator } from "@clinic/platform/grpc";
import { DateTime, IANAZone } from "luxon";

/** "+01:00", "-0530", "+01": an offset, not a zone. */
const OFFSET_ZONE = /^[+\u2212-]\d/;

export const SCHEDULE_LIMITS = {
  /** Inclusive local dates in one request. */
  maxDays: 366,
  /** Slots one request may create; bounds the INSERT and the response. */
  maxSlots: 2000,
  minSlotMinutes: 5,
  /** The slots table refuses longer slots. */
  maxSlotMinutes: 24 * 60,
} as const;

/** A local wall-clock time; hour 24 (minute 0) only as a day's end, meaning the next midnight. */
interface WallTime {
  hour: number;
  minute: number;
}

/** A weekly schedule whose fields have all been validated. */
export interface WeeklySchedule {
  timeZone: string;
  /** The first local date, as a UTC midnight: used only for calendar arithmetic. */
  firstDate: DateTime;
  dayCount: number;
  /** ISO weekdays, Monday = 1 ... Sunday = 7, the numbering of the proto's Weekday enum. */
  weekdays: ReadonlySet<number>;
  dayStart: WallTime;
  dayEnd: WallTime;
  slotMinutes: number;
}

/** The schedule fields of a CreateSlots request, as received. */
export interface ScheduleFields {
  timeZone: string;
  startDate: string;
  endDate: string;
  weekdays: readonly number[];
  dayStart: string;
  dayEnd: string;
  slotMinutes: number;
}

export interface Interval {
  start: Date;
  end: Date;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const MIDNIGHT_END = "24:00";

type Report = (field: string, message: string) => void;

function parseDate(report: Report, field: string, value: string): DateTime | undefined {
  // The regex keeps ISO week dates, ordinals and times out; luxon then refuses 2027-02-30.
  const date = DATE.test(value) ? DateTime.fromISO(value, { zone: "utc" }) : undefined;
  if (date?.isValid) return date;
  report(field, "must be a date as YYYY-MM-DD");
  return undefined;
}

function parseTime(report: Report, field: string, value: string, { allowMidnightEnd = false } = {}): WallTime | undefined {
  if (allowMidnightEnd && value === MIDNIGHT_END) return { hour: 24, minute: 0 };
  const match = TIME.exec(value);
  if (match) return { hour: Number(match[1]), minute: Number(match[2]) };
  report(field, `must be a time as HH:MM (00:00 to ${allowMidnightEnd ? MIDNIGHT_END : "23:59"})`);
  return undefined;
}

const minutesOfDay = (t: WallTime): number => t.hour * 60 + t.minute;

/**
 * Validates every schedule field, recording problems in `v` by proto field name. Returns the
 * schedule when all fields are valid, undefined otherwise (the caller then runs `v.check()`).
 */
export function parseWeeklySchedule(v: Validator, fields: ScheduleFields): WeeklySchedule | undefined {
  let valid = true;
  const report: Report = (field, message) => {
    valid = false;
    v.add(field, message);
  };

  const timeZone = fields.timeZone.trim();
  // Only IANA names: a fixed offset ("+01:00") would silently ignore daylight saving time. Node
  // 24's ICU accepts offsets as time zones (ECMA-402 2024), so they are refused by their shape.
  if (OFFSET_ZONE.test(timeZone) || !IANAZone.isValidZone(timeZone)) report("time_zone", "must be an IANA time zone name, e.g. Europe/Berlin");

  const firstDate = parseDate(report, "start_date", fields.startDate);
  const lastDate = parseDate(report, "end_date", fields.endDate);
  const dayCount = firstDate && lastDate ? Math.round(lastDate.diff(firstDate, "days").days) + 1 : 0;
  if (firstDate && lastDate) {
    if (dayCount < 1) report("end_date", "must not be before start_date");
    else if (dayCount > SCHEDULE_LIMITS.maxDays) {
      report("end_date", `must be at most ${SCHEDULE_LIMITS.maxDays} days from start_date, inclusive`);
    }
  }

  const weekdays = new Set<number>();
  if (fields.weekdays.length === 0) report("weekdays", "is required");
  fields.weekdays.forEach((day, i) => {
    // Unknown enum numbers arrive as plain numbers, so the range is checked, not assumed.
    if (Number.isInteger(day) && day >= 1 && day <= 7) weekdays.add(day);
    else report(`weekdays[${i}]`, "must be a weekday from WEEKDAY_MONDAY to WEEKDAY_SUNDAY");
  });

  const dayStart = parseTime(report, "day_start", fields.dayStart);
  const dayEnd = parseTime(report, "day_end", fields.dayEnd, { allowMidnightEnd: true });
  const dayMinutes = dayStart && dayEnd ? minutesOfDay(dayEnd) - minutesOfDay(dayStart) : undefined;
  if (dayMinutes !== undefined && dayMinutes <= 0) report("day_end", "must be after day_start");

  const { minSlotMinutes, maxSlotMinutes } = SCHEDULE_LIMITS;
  const slotMinutes = fields.slotMinutes;
  if (!Number.isInteger(slotMinutes) || slotMinutes < minSlotMinutes || slotMinutes > maxSlotMinutes) {
    report("slot_minutes", `must be an integer from ${minSlotMinutes} to ${maxSlotMinutes}`);
  } else if (dayMinutes !== undefined && dayMinutes > 0 && slotMinutes > dayMinutes) {
    report("slot_minutes", `must not exceed the working day of ${dayMinutes} minutes`);
  }

  if (!valid || !firstDate || !dayStart || !dayEnd) return undefined;
  return { timeZone, firstDate, dayCount, weekdays, dayStart, dayEnd, slotMinutes };
}

/**
 * The instant at which a wall clock in `zone` shows `time` on local date `date`.
 *
 * Daylight saving time makes some wall times happen twice and others never. We resolve them the
 * way RFC 5545 (iCalendar) and Temporal's default "compatible" disambiguation do:
 * - a time in the autumn overlap (e.g. 02:30 in Berlin on the last Sunday of October) means its
 *   first occurrence, the earlier instant;
 * - a time in the spring gap (02:30 when clocks jump from 02:00 to 03:00) is moved forward by the
 *   gap's length (03:30), which is what luxon already does when building the DateTime.
 * luxon alone picks between the two overlap instants by the zone's offset at the current date,
 * so the result would change with the season the request is made in; hence the explicit choice.
 */
export function localInstant(date: DateTime, time: WallTime, zone: string): number {
  const day = time.hour === 24 ? date.plus({ days: 1 }) : date;
  const local = DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: time.hour % 24, minute: time.minute },
    { zone },
  );
  return Math.min(...local.getPossibleOffsets().map((candidate) => candidate.toMillis()));
}

/**
 * Expands a weekly schedule into slot intervals, in time order.
 *
 * Each working day runs from the instant of its local `day_start` to the instant of its local
 * `day_end` and is cut into slots of `slot_minutes` of elapsed time; a remainder shorter than a
 * slot is left free. Every slot therefore lasts exactly what was asked for, also on a day whose
 * working hours contain a DST change: such a day simply holds one slot-hour fewer (spring) or
 * more (autumn). On all other days, slots start at the same wall-clock times, whose UTC instants
 * move by the DST change between the weeks.
 *
 * Throws TOO_MANY_SLOTS (INVALID_ARGUMENT) past `maxSlots`, before building them all.
 */
export function expandWeeklySchedule(schedule: WeeklySchedule, maxSlots: number = SCHEDULE_LIMITS.maxSlots): Interval[] {
  const slotMs = schedule.slotMinutes * 60_000;
  const intervals: Interval[] = [];
  for (let i = 0; i < schedule.dayCount; i++) {
    const date = schedule.firstDate.plus({ days: i });
    if (!schedule.weekdays.has(date.weekday)) continue;
    const dayStart = localInstant(date, schedule.dayStart, schedule.timeZone);
    const dayEnd = localInstant(date, schedule.dayEnd, schedule.timeZone);
    for (let start = dayStart; start + slotMs <= dayEnd; start += slotMs) {
      if (intervals.length === maxSlots) {
        throw new DomainError(
          "invalid_argument",
          "TOO_MANY_SLOTS",
          `the schedule yields more than ${maxSlots} slots; shorten the date range, pick fewer weekdays or longer slots`,
        );
      }
      intervals.push({ start: new Date(start), end: new Date(start + slotMs) });
    }
  }
  return intervals;
}
