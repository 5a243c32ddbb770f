/** A slot's seats, in the shape `GET /api/v1/availability` answers them. */
export interface Seats {
  slotId: string;
  capacity: number;
  held: number;
  remaining: number;
}

/** What a stream tells about one slot: its seats, or that the slot does not exist (deleted, unknown). */
export type SlotState = { kind: "seats"; seats: Seats } | { kind: "missing"; slotId: string };

export const slotIdOf = (state: SlotState): string => (state.kind === "seats" ? state.seats.slotId : state.slotId);

/**
 * Whether a client holding `a` needs `b`: only capacity and remaining seats matter to it (`held`
 * follows from them while a slot is not overbooked on paper, and a change of `held` alone changes
 * nothing a patient can do).
 */
export function sameState(a: SlotState | undefined, b: SlotState | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind === "missing" || b.kind === "missing") return a.kind === b.kind;
  return a.seats.capacity === b.seats.capacity && a.seats.remaining === b.seats.remaining;
}
