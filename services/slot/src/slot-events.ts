import { protoOutboxEvent, type OutboxEvent } from "@clinic/platform/outbox";
import { eventsV1 } from "@clinic/proto";
import type { SlotRow } from "./slot-repository";

export type SlotEventType = "slot.created" | "slot.updated" | "slot.deleted";

/** A slot event for the outbox, keyed by slot so one slot's events stay in order. */
export function slotEvent(topic: string, type: SlotEventType, row: SlotRow): OutboxEvent {
  const payload: eventsV1.SlotEvent["payload"] =
    type === "slot.created"
      ? { $case: "created", value: { startTime: row.start_time, endTime: row.end_time, capacity: row.capacity } }
      : type === "slot.updated"
        ? { $case: "updated", value: { capacity: row.capacity } }
        : { $case: "deleted", value: {} };
  return protoOutboxEvent(eventsV1.SlotEvent, { topic, type, key: row.id, messageType: "clinic.events.v1.SlotEvent" }, (envelope) => ({
    ...envelope,
    slotId: row.id,
    doctorId: row.doctor_id,
    payload,
  }));
}
