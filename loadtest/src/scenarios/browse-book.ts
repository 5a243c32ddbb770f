import type { Patient } from "../modes/target";
import { pickSlotFor } from "../patients";
import { book, closedLoop, pick, timed, type ScenarioContext } from "./common";

/** Slots per availability request: a patient's screen showing a day of one doctor. */
const AVAILABILITY_BATCH = 10;

/**
 * Most requests of one browsing visit. A visit ends with its booking, on average after ten
 * requests; the cap keeps an unlucky long visit far below the edge's per-account rate limit.
 */
const VISIT_MAX_REQUESTS = 20;

/**
 * 3. Browse and book: 90% reads, split evenly between listing doctors, listing a doctor's slots
 * and asking availability of a page of slots; 10% bookings on this mode's slots. Each client is
 * one patient's visit at a time: it browses and books as that patient, then the next patient
 * comes in.
 */
export async function runBrowseAndBook(ctx: ScenarioContext): Promise<void> {
  const { target, recorder } = ctx;
  const visits: ({ patient: Patient; requests: number } | undefined)[] = [];
  await closedLoop(ctx, async (client) => {
    let visit = visits[client];
    if (!visit || visit.requests >= VISIT_MAX_REQUESTS) visits[client] = visit = { patient: ctx.patients.next(), requests: 0 };
    visit.requests += 1;
    const { patient } = visit;
    const r = Math.random();
    if (r < 0.3) {
      await timed(recorder, "list_doctors", patient, () => target.listDoctors(patient));
    } else if (r < 0.6) {
      await timed(recorder, "list_slots", patient, () => target.listSlots(pick(ctx.doctors).id, patient));
    } else if (r < 0.9) {
      const ids = Array.from({ length: AVAILABILITY_BATCH }, () => pick(ctx.slots).id);
      await timed(recorder, "availability", patient, () => target.availability([...new Set(ids)], patient));
    } else {
      const slot = pickSlotFor(patient, ctx.slots);
      await book(ctx, slot ?? pick(ctx.slots), slot ? patient : undefined);
      visits[client] = undefined;
    }
  });
}
