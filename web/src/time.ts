/**
 * Dates in the browser's own time zone, which is the person's: slots are instants (UTC) in the
 * API and shown here as local times. Weeks start on Monday; days are built from calendar fields
 * (never by adding 24 hours), so a week across a DST change still has seven whole days.
 */
export const localTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

export function startOfWeek(date: Date): Date {
  const daysSinceMonday = (date.getDay() + 6) % 7;
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() - daysSinceMonday);
}

export const addDays = (date: Date, days: number): Date => new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);

/** `YYYY-MM-DD` of a local date. */
export const isoDate = (date: Date): string =>
  `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;

/** A local date from `YYYY-MM-DD`, or undefined when it is not one. */
export function parseIsoDate(value: string | null): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value ?? "");
  if (!match) return undefined;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export const sameDay = (a: Date, b: Date): boolean =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });

export const formatTime = (iso: string): string => timeFormat.format(new Date(iso));
export const formatDay = (date: Date): string => dayFormat.format(date);
export const formatDateTime = (iso: string | undefined): string => (iso ? dateTimeFormat.format(new Date(iso)) : "—");
export const formatRange = (start: string, end: string): string => `${formatTime(start)}–${formatTime(end)}`;

/** `m:ss` for a countdown. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}
