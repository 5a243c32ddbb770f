import { protoOutboxEvent, type OutboxEvent } from "@clinic/platform/outbox";
import { eventsV1 } from "@clinic/proto";
import type { DoctorRow } from "./doctor-repository";

export type DoctorEventType = "doctor.created" | "doctor.updated" | "doctor.deleted";

/** A doctor event for the outbox, keyed by doctor so one doctor's events stay in order. */
export function doctorEvent(topic: string, type: DoctorEventType, row: DoctorRow): OutboxEvent {
  const details = { name: row.name, specialization: row.specialization };
  const payload: eventsV1.DoctorEvent["payload"] =
    type === "doctor.created"
      ? { $case: "created", value: details }
      : type === "doctor.updated"
        ? { $case: "updated", value: details }
        : { $case: "deleted", value: {} };
  return protoOutboxEvent(eventsV1.DoctorEvent, { topic, type, key: row.id, messageType: "clinic.events.v1.DoctorEvent" }, (envelope) => ({ ...envelope, doctorId: row.id, payload }));
}
