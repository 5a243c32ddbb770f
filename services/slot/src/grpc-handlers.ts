import { requireDoctorOrAdmin, requireRole, type Caller } from "@clinic/platform/auth";
import { DomainError, invalidArgument, notFound } from "@clinic/platform/errors";
import { Validator, decodeCursor, defineService, pageOf, uuidArgument } from "@clinic/platform/grpc";
import { slotV1 } from "@clinic/proto";
import type { SeatInventory } from "./booking-client";
import type { DoctorDirectory } from "./doctor-client";
import { expandWeeklySchedule, parseWeeklySchedule, type Interval } from "./schedule";
import type { SlotRepository, SlotRow } from "./slot-repository";

export const SLOT_SERVICE_NAME = "clinic.slot.v1.SlotService";

/** Bounds of the slots table's CHECK constraints, validated here first for a clear answer. */
export const CAPACITY_MAX = 1000;
export const SLOT_LENGTH_MAX_MS = 24 * 60 * 60 * 1000;
export const BATCH_GET_MAX = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const toSlot = (row: SlotRow): slotV1.Slot => ({
  id: row.id,
  doctorId: row.doctor_id,
  startTime: row.start_time,
  endTime: row.end_time,
  capacity: row.capacity,
  createTime: row.created_at,
  updateTime: row.updated_at,
});

const capacityOf = (v: Validator, value: number): number => v.int("capacity", value, { min: 1, max: CAPACITY_MAX });

/**
 * google.protobuf.Timestamp's documented range. The decoder does not enforce it, and a JS Date
 * reaches years PostgreSQL refuses, which would surface as an internal error instead of a
 * refusal of the field.
 */
const TIMESTAMP_MIN_MS = Date.parse("0001-01-01T00:00:00Z");
const TIMESTAMP_MAX_MS = Date.parse("9999-12-31T23:59:59.999Z");
const inTimestampRange = (d: Date): boolean => d.getTime() >= TIMESTAMP_MIN_MS && d.getTime() <= TIMESTAMP_MAX_MS;

/** A valid timestamp, or undefined with the problem recorded in `v` (unless absent and optional). */
function timestamp(v: Validator, field: string, value: Date | undefined, { required }: { required: boolean }): Date | undefined {
  const date = v.date(field, value, { required });
  if (!date || Number.isNaN(date.getTime())) return undefined;
  if (!inTimestampRange(date)) {
    v.add(field, "must be between 0001-01-01 and 9999-12-31 (UTC)");
    return undefined;
  }
  return date;
}

/** Slots are offered for booking ahead of time; a slot that has already begun cannot be. */
function refusePast(first: Interval, now: Date): void {
  if (first.start.getTime() <= now.getTime()) {
    throw new DomainError(
      "unprocessable",
      "SLOT_IN_PAST",
      `slot start ${first.start.toISOString()} is not in the future (now ${now.toISOString()})`,
    );
  }
}

async function requireDoctor(doctors: DoctorDirectory, doctorId: string): Promise<void> {
  if (!(await doctors.doctorExists(doctorId))) {
    throw new DomainError("not_found", "DOCTOR_NOT_FOUND", `doctor ${doctorId} not found`, [
      { field: "doctor_id", message: "no doctor has this id" },
    ]);
  }
}

/** Page tokens carry the last row's (start_time, id); both are checked before they reach SQL. */
function decodeSlotCursor(token: string): { startTime: Date; id: string } | undefined {
  const cursor = decodeCursor("page_token", token, ["s", "i"]);
  if (!cursor) return undefined;
  const startTime = new Date(String(cursor.s));
  const id = String(cursor.i);
  if (typeof cursor.s !== "string" || Number.isNaN(startTime.getTime()) || !inTimestampRange(startTime) || !UUID.test(id)) {
    throw invalidArgument([{ field: "page_token", message: "is not a valid page token" }]);
  }
  return { startTime, id };
}

/**
 * Slots are public to read. A doctor publishes and changes their own slots only, an admin any;
 * the calls made to the doctor and booking services carry the caller, who is checked there again.
 */
export function slotService(repo: SlotRepository, doctors: DoctorDirectory, seats: SeatInventory, clock: () => Date = () => new Date()) {
  /** Only the slot's doctor, or an admin, may change or delete it. */
  async function requireMayChange(caller: Caller, id: string): Promise<void> {
    const slot = await repo.get(id);
    if (!slot) throw notFound("slot", id);
    requireDoctorOrAdmin(caller, slot.doctor_id);
  }

  return defineService(SLOT_SERVICE_NAME, slotV1.SlotServiceService, {
    async createSlot(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      const start = timestamp(v, "start_time", req.startTime, { required: true });
      const end = timestamp(v, "end_time", req.endTime, { required: true });
      const capacity = capacityOf(v, req.capacity);
      if (start && end) {
        if (end.getTime() <= start.getTime()) v.add("end_time", "must be after start_time");
        else if (end.getTime() - start.getTime() > SLOT_LENGTH_MAX_MS) v.add("end_time", "must be at most 24 hours after start_time");
      }
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      // Both are set: timestamp() records a violation whenever it returns nothing for them.
      const slot = { start: start as Date, end: end as Date };
      refusePast(slot, clock());
      await requireDoctor(doctors, doctorId);
      const row = await repo.create({ doctorId, startTime: slot.start, endTime: slot.end, capacity });
      return { slot: toSlot(row) };
    },

    async createSlots(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      const capacity = capacityOf(v, req.capacity);
      const schedule = parseWeeklySchedule(v, req);
      v.check();
      requireDoctorOrAdmin(caller, doctorId);
      if (!schedule) throw new Error("parseWeeklySchedule returned nothing without a violation");
      const intervals = expandWeeklySchedule(schedule);
      const first = intervals[0];
      if (!first) {
        throw new DomainError(
          "invalid_argument",
          "EMPTY_SCHEDULE",
          "the schedule yields no slot: none of its weekdays falls between start_date and end_date",
          [{ field: "weekdays", message: "none falls between start_date and end_date" }],
        );
      }
      // All or nothing: rather than silently dropping the part of the schedule that has already
      // begun, the request is refused and says where it starts, so the caller picks a later start.
      refusePast(first, clock());
      await requireDoctor(doctors, doctorId);
      const rows = await repo.createMany(
        intervals.map(({ start, end }) => ({ doctorId, startTime: start, endTime: end, capacity })),
      );
      return { slots: rows.map(toSlot) };
    },

    async getSlot(req) {
      const id = uuidArgument("id", req.id);
      const row = await repo.get(id);
      if (!row) throw notFound("slot", id);
      return { slot: toSlot(row) };
    },

    async batchGetSlots(req) {
      const v = new Validator();
      const tooMany = req.ids.length > BATCH_GET_MAX;
      if (tooMany) v.add("ids", `must hold at most ${BATCH_GET_MAX} ids`);
      const ids = tooMany ? [] : req.ids.map((id, i) => v.uuid(`ids[${i}]`, id));
      v.check();
      // A repeated id is answered once, at its first position.
      const wanted = [...new Set(ids)];
      const found = new Map((await repo.getMany(wanted)).map((row) => [row.id, row]));
      return {
        slots: wanted.flatMap((id) => {
          const row = found.get(id);
          return row ? [toSlot(row)] : [];
        }),
        missingIds: wanted.filter((id) => !found.has(id)),
      };
    },

    async listSlots(req) {
      const v = new Validator();
      const doctorId = v.uuid("doctor_id", req.doctorId);
      const startFrom = timestamp(v, "start_from", req.startFrom, { required: false });
      const startTo = timestamp(v, "start_to", req.startTo, { required: false });
      if (startFrom && startTo && !(startFrom.getTime() < startTo.getTime())) v.add("start_to", "must be after start_from");
      const limit = v.pageSize("page_size", req.pageSize);
      v.check();
      const after = decodeSlotCursor(req.pageToken);
      const rows = await repo.list({
        doctorId,
        limit: limit + 1,
        ...(startFrom ? { startFrom } : {}),
        ...(startTo ? { startTo } : {}),
        ...(after ? { after } : {}),
      });
      // Start times enter through JS Dates, so milliseconds hold them exactly.
      const { page, nextPageToken } = pageOf(rows, limit, (last) => ({ s: last.start_time.toISOString(), i: last.id }));
      return { slots: page.map(toSlot), nextPageToken };
    },

    async updateSlotCapacity(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const v = new Validator();
      const id = v.uuid("id", req.id);
      const capacity = capacityOf(v, req.capacity);
      v.check();
      // A slot never changes doctor, so checking before taking the row lock is enough.
      await requireMayChange(caller, id);
      // The booking service moves first: it refuses a capacity below the seats held, and only
      // what it accepted is written here.
      const row = await repo.updateCapacity(id, capacity, (slot) => seats.setCapacity(slot, capacity, caller));
      if (!row) throw notFound("slot", id);
      return { slot: toSlot(row) };
    },

    async deleteSlot(req, { caller }) {
      requireRole(caller, "doctor", "admin");
      const id = uuidArgument("id", req.id);
      await requireMayChange(caller, id);
      // Retired first, so no booking can take a seat of a slot that is about to disappear; a
      // refusal (active bookings) keeps the slot.
      if (!(await repo.delete(id, (slot) => seats.retire(slot, caller)))) throw notFound("slot", id);
      return {};
    },
  });
}
