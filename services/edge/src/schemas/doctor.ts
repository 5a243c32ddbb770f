import { Type, type Static } from "@sinclair/typebox";
import type { doctorV1 } from "@clinic/proto";
import { DateTime, PageSize, PageToken, Uuid, iso, ref } from "./common";

// Limits mirror the doctor service's own validation, so most bad input is refused here with
// every offending field at once, before a network round trip.
const Name = Type.String({ minLength: 1, maxLength: 200, description: "Display name, e.g. `Dr. Ada Lovelace`." });
const Specialization = Type.String({ minLength: 1, maxLength: 100, description: "e.g. `cardiology`." });

export const DoctorSchema = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    specialization: Type.String(),
    createTime: DateTime(),
    updateTime: DateTime(),
  },
  { $id: "Doctor", title: "Doctor", additionalProperties: false },
);
export type DoctorJson = Static<typeof DoctorSchema>;

export const DoctorParams = Type.Object({ doctorId: Uuid() }, { additionalProperties: false });

export const CreateDoctorBody = Type.Object(
  { name: Name, specialization: Specialization },
  { title: "CreateDoctorRequest", additionalProperties: false },
);

export const UpdateDoctorBody = Type.Object(
  { name: Type.Optional(Name), specialization: Type.Optional(Specialization) },
  {
    title: "UpdateDoctorRequest",
    additionalProperties: false,
    minProperties: 1,
    description: "Fields left out keep their value; at least one must be given.",
  },
);

export const ListDoctorsQuery = Type.Object(
  {
    specialization: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: "Exact specialization (case-insensitive)." }),
    ),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Substring of the name (case-insensitive)." })),
    pageSize: Type.Optional(PageSize),
    pageToken: Type.Optional(PageToken),
  },
  { additionalProperties: false },
);

export const DoctorPageSchema = Type.Object(
  {
    doctors: Type.Array(ref(DoctorSchema)),
    nextPageToken: Type.Optional(Type.String({ description: "Absent on the last page." })),
  },
  { $id: "DoctorPage", title: "DoctorPage", additionalProperties: false },
);

export function doctorJson(doctor: doctorV1.Doctor | undefined): DoctorJson {
  if (!doctor) throw new Error("doctor service answered without a doctor");
  return {
    id: doctor.id,
    name: doctor.name,
    specialization: doctor.specialization,
    createTime: iso(doctor.createTime, "doctor.createTime"),
    updateTime: iso(doctor.updateTime, "doctor.updateTime"),
  };
}
