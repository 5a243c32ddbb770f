import { randomUUID } from "node:crypto";
import type { Http } from "./http-client";
import { addMinutes, hoursAhead } from "./time";

/** Helpers that create things through the edge and fail loudly when that does not work. */
export class Fixtures {
  private seq = 0;

  constructor(private readonly http: Http) {}

  async doctor(specialization = "general practice", name?: string): Promise<{ id: string; name: string }> {
    const res = await this.http.post("/api/v1/doctors", { name: name ?? `Dr. Test ${++this.seq}`, specialization });
    if (res.status !== 201) throw new Error(`creating a doctor: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async slot(doctorId: string, options: { capacity?: number; start?: Date; minutes?: number } = {}): Promise<{ id: string; startTime: string }> {
    const start = options.start ?? hoursAhead(24 + (++this.seq % 500));
    const res = await this.http.post(`/api/v1/doctors/${doctorId}/slots`, {
      startTime: start.toISOString(),
      endTime: addMinutes(start, options.minutes ?? 30).toISOString(),
      capacity: options.capacity ?? 1,
    });
    if (res.status !== 201) throw new Error(`creating a slot: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** The patient is whoever sends it (the token's account), never a body field. */
  bookingBody(slotId: string, extra: Record<string, unknown> = {}) {
    return { slotId, patientName: "Pat Patient", patientContact: "pat@example.org", ...extra };
  }
}

/**
 * A slot as the booking service's own modules take it (its slot directory's `SlotInfo`), with
 * fresh ids: for tests of the booking repository without the slot service. A day ahead, an hour
 * long.
 */
export const slotAhead = (capacity: number): { id: string; doctorId: string; startTime: Date; endTime: Date; capacity: number } => ({
  id: randomUUID(),
  doctorId: randomUUID(),
  startTime: new Date(Date.now() + 24 * 3_600_000),
  endTime: new Date(Date.now() + 25 * 3_600_000),
  capacity,
});
