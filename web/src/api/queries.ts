import { api, call } from "./client";
import type { Doctor, Slot, SlotAvailability } from "./types";

/** Pages through a list until its end or `maxPages` (lists answer at most 100 a page). */
export async function allPages<T>(fetchPage: (pageToken: string | undefined) => Promise<{ items: T[]; next: string | undefined }>, maxPages = 10): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await fetchPage(token);
    items.push(...result.items);
    token = result.next;
    if (!token) break;
  }
  return items;
}

/** A doctor's slots starting in [from, to), in start order. */
export async function slotsBetween(doctorId: string, from: Date, to: Date): Promise<Slot[]> {
  const slots = await allPages(async (pageToken) => {
    const page = await call(
      api.GET("/api/v1/doctors/{doctorId}/slots", {
        params: {
          path: { doctorId },
          query: { startFrom: from.toISOString(), startTo: to.toISOString(), pageSize: 100, ...(pageToken ? { pageToken } : {}) },
        },
      }),
    );
    return { items: page.slots, next: page.nextPageToken };
  });
  return slots.sort((a, b) => a.startTime.localeCompare(b.startTime));
}

/** Seats per slot id (the availability endpoint takes 100 ids a call). */
export async function availabilityOf(slotIds: string[]): Promise<Map<string, SlotAvailability>> {
  const seats = new Map<string, SlotAvailability>();
  for (let i = 0; i < slotIds.length; i += 100) {
    const chunk = slotIds.slice(i, i + 100);
    const answer = await call(api.GET("/api/v1/availability", { params: { query: { slotIds: chunk } } }));
    for (const entry of answer.availability) seats.set(entry.slotId, entry);
  }
  return seats;
}

export async function doctorsById(ids: string[]): Promise<Map<string, Doctor>> {
  const unique = [...new Set(ids)];
  const doctors = await Promise.all(
    unique.map((doctorId) => call(api.GET("/api/v1/doctors/{doctorId}", { params: { path: { doctorId } } })).catch(() => undefined)),
  );
  return new Map(doctors.filter((d): d is Doctor => d !== undefined).map((d) => [d.id, d]));
}

export async function allDoctors(filter: { specialization?: string; q?: string } = {}): Promise<Doctor[]> {
  return allPages(async (pageToken) => {
    const page = await call(
      api.GET("/api/v1/doctors", {
        params: {
          query: {
            pageSize: 100,
            ...(filter.specialization ? { specialization: filter.specialization } : {}),
            ...(filter.q ? { q: filter.q } : {}),
            ...(pageToken ? { pageToken } : {}),
          },
        },
      }),
    );
    return { items: page.doctors, next: page.nextPageToken };
  });
}
