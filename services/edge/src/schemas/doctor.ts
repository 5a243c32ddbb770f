import { Type, type Static } from "@sinclair/typebox";
import type { doctorV1 } from "@clinic/proto";
import { closed, idParams, iso, pageQueryFields, pageSchema, resourceSchema } from "./common";

// Limits mirror the doctor service's own validation, so most bad input is refused here with
// every offending field at once, before a network round trip.
const Name = Type.String({ minLength: 1, maxLength: 200, description: "Display name, e.g. `Dr. Ada Lovelace`." });
const Specialization = Type.String({ minLength: 1, maxLength: 100, description: "e.g. `cardiology`." });

export const DoctorSchema = resourceSchema("Doctor", { name: Type.String(), specialization: Type.String() });
export type DoctorJson = Static<typeof DoctorSchema>;

export const DoctorParams = idParams("doctorId");

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
    ...pageQueryFields(),
  },
  closed,
);

export const DoctorPageSchema = pageSchema("DoctorPage", "doctors", DoctorSchema);

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
