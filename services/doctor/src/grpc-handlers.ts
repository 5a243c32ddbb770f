import { requireRole, type Caller } from "@clinic/platform/auth";
import { DomainError, notFound } from "@clinic/platform/errors";
import { Validator, decodeCursor, defineService, pageOf, uuidArgument } from "@clinic/platform/grpc";
import { doctorV1 } from "@clinic/proto";
import type { DoctorRepository, DoctorRow } from "./doctor-repository";

export const DOCTOR_SERVICE_NAME = "clinic.doctor.v1.DoctorService";

/** How the doctor service learns whether deleting a doctor would orphan active bookings. */
export interface ActiveBookingCounter {
  /** Asked on behalf of `caller`, whose token the booking service checks again. */
  countActiveBookings(doctorId: string, caller: Caller): Promise<number>;
}

const toDoctor = (row: DoctorRow): doctorV1.Doctor => ({
  id: row.id,
  name: row.name,
  specialization: row.specialization,
  createTime: row.created_at,
  updateTime: row.updated_at,
});

const NAME_MAX = 200;
/** Page size when the request leaves it unset; the warmed first page has this size. */
export const DEFAULT_PAGE_SIZE = 20;
const SPECIALIZATION_MAX = 100;

/** Doctors are public to read; only admins create, change or delete them. */
export function doctorService(repo: DoctorRepository, bookings: ActiveBookingCounter) {
  return defineService(DOCTOR_SERVICE_NAME, doctorV1.DoctorServiceService, {
    async createDoctor(req, { caller }) {
      requireRole(caller, "admin");
      const v = new Validator();
      const name = v.text("name", req.name, { max: NAME_MAX });
      const specialization = v.text("specialization", req.specialization, { max: SPECIALIZATION_MAX });
      v.check();
      return { doctor: toDoctor(await repo.create(name, specialization)) };
    },

    async getDoctor(req) {
      const id = uuidArgument("id", req.id);
      const row = await repo.get(id);
      if (!row) throw notFound("doctor", id);
      return { doctor: toDoctor(row) };
    },

    async listDoctors(req) {
      const v = new Validator();
      const limit = v.pageSize("page_size", req.pageSize, { fallback: DEFAULT_PAGE_SIZE });
      const specialization = req.specialization ? v.text("specialization", req.specialization, { max: SPECIALIZATION_MAX }) : undefined;
      const nameQuery = req.nameQuery ? v.text("name_query", req.nameQuery, { max: NAME_MAX }) : undefined;
      v.check();
      const cursor = decodeCursor("page_token", req.pageToken, ["n", "i"]);
      const rows = await repo.list({
        limit: limit + 1,
        ...(specialization ? { specialization } : {}),
        ...(nameQuery ? { nameQuery } : {}),
        ...(cursor ? { after: { name: String(cursor.n), id: String(cursor.i) } } : {}),
      });
      const { page, nextPageToken } = pageOf(rows, limit, (last) => ({ n: last.name, i: last.id }));
      return { doctors: page.map(toDoctor), nextPageToken };
    },

    async updateDoctor(req, { caller }) {
      requireRole(caller, "admin");
      const v = new Validator();
      const id = v.uuid("id", req.id);
      const changes: { name?: string; specialization?: string } = {};
      if (req.name !== undefined) changes.name = v.text("name", req.name, { max: NAME_MAX });
      if (req.specialization !== undefined) {
        changes.specialization = v.text("specialization", req.specialization, { max: SPECIALIZATION_MAX });
      }
      if (Object.keys(changes).length === 0) v.add("name", "at least one of name, specialization must be set");
      v.check();
      const row = await repo.update(id, changes);
      if (!row) throw notFound("doctor", id);
      return { doctor: toDoctor(row) };
    },

    async deleteDoctor(req, { caller }) {
      requireRole(caller, "admin");
      const id = uuidArgument("id", req.id);
      if (!(await repo.get(id))) throw notFound("doctor", id);
      const active = await bookings.countActiveBookings(id, caller);
      if (active > 0) {
        throw new DomainError(
          "conflict",
          "DOCTOR_HAS_ACTIVE_BOOKINGS",
          `doctor ${id} has ${active} active booking(s) on upcoming slots`,
        );
      }
      if (!(await repo.delete(id))) throw notFound("doctor", id);
      return {};
    },
  });
}
