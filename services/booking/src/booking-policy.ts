import type { Knex } from "@clinic/platform/db";

/**
 * A doctor's booking rules, kept in the shard of the doctor's bookings (`booking_policies`).
 * Today one rule: the cancellation window, the hours before a slot's start from which a patient
 * can no longer cancel or reschedule a confirmed booking (a PENDING hold can always be let go:
 * it lapses within minutes anyway). The doctor and admins are not bound by it.
 */
export interface BookingPolicy {
  doctorId: string;
  cancellationWindowHours: number;
  /** False while the doctor has no rule of their own and the service's default applies. */
  custom: boolean;
}

export const MAX_CANCELLATION_WINDOW_HOURS = 720;
const HOUR_MS = 3_600_000;

/** The last instant a patient may cancel a confirmed booking for a slot starting at `slotStart`. */
export const cancelDeadline = (slotStart: Date, windowHours: number): Date => new Date(slotStart.getTime() - windowHours * HOUR_MS);

/**
 * The SQL for the window of the booking row in scope (`bookings` or an alias given), with the
 * service's default as the only parameter: used inside the guarded UPDATE, so the rule checked is
 * the one committed at that moment.
 */
export const windowHoursSql = (table: string): string =>
  `coalesce((SELECT p.cancellation_window_hours FROM booking_policies p WHERE p.doctor_id = ${table}.doctor_id), ?)`;

export async function readPolicies(db: Knex, doctorIds: readonly string[], defaultHours: number): Promise<Map<string, BookingPolicy>> {
  const { rows } = await db.raw<{ rows: { doctor_id: string; cancellation_window_hours: number }[] }>(
    "SELECT doctor_id, cancellation_window_hours FROM booking_policies WHERE doctor_id = ANY(?::uuid[])",
    [[...doctorIds]],
  );
  const found = new Map(rows.map((r) => [r.doctor_id, r.cancellation_window_hours]));
  return new Map(
    doctorIds.map((doctorId) => {
      const hours = found.get(doctorId);
      return [doctorId, { doctorId, cancellationWindowHours: hours ?? defaultHours, custom: hours !== undefined }];
    }),
  );
}

/** Sets the doctor's window; `undefined` removes their own rule, so the default applies again. */
export async function writePolicy(db: Knex, doctorId: string, windowHours: number | undefined): Promise<void> {
  if (windowHours === undefined) {
    await db.raw("DELETE FROM booking_policies WHERE doctor_id = ?", [doctorId]);
    return;
  }
  await db.raw(
    `INSERT INTO booking_policies (doctor_id, cancellation_window_hours) VALUES (?, ?)
     ON CONFLICT (doctor_id) DO UPDATE SET cancellation_window_hours = EXCLUDED.cancellation_window_hours, updated_at = now()`,
    [doctorId, windowHours],
  );
}

/**
 * The windows of the doctors whose bookings a response shows, for the deadline printed on each
 * booking: cached briefly per process (a change shows on other replicas within `ttlMs`; the
 * check that refuses a late cancel never reads this cache).
 */
export class PolicyCache {
  private readonly entries = new Map<string, { hours: number; expires: number }>();

  constructor(
    private readonly shardOf: (doctorId: string) => Knex,
    private readonly defaultHours: number,
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  async windowHours(doctorIds: readonly string[]): Promise<Map<string, number>> {
    const now = Date.now();
    const out = new Map<string, number>();
    const missing = new Map<Knex, string[]>();
    for (const id of new Set(doctorIds)) {
      const hit = this.entries.get(id);
      if (hit && hit.expires > now) out.set(id, hit.hours);
      else {
        const db = this.shardOf(id);
        missing.set(db, [...(missing.get(db) ?? []), id]);
      }
    }
    await Promise.all(
      [...missing].map(async ([db, ids]) => {
        for (const policy of (await readPolicies(db, ids, this.defaultHours)).values()) {
          this.remember(policy.doctorId, policy.cancellationWindowHours);
          out.set(policy.doctorId, policy.cancellationWindowHours);
        }
      }),
    );
    return out;
  }

  remember(doctorId: string, hours: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(doctorId, { hours, expires: Date.now() + this.ttlMs });
  }
}
