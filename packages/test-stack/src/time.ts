/** An hour boundary `hours` from now, so tests never create slots in the past. */
export function hoursAhead(hours: number): Date {
  const d = new Date(Date.now() + hours * 3_600_000);
  d.setUTCMinutes(0, 0, 0);
  return d;
}

export const addMinutes = (d: Date, minutes: number): Date => new Date(d.getTime() + minutes * 60_000);
