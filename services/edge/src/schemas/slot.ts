import { Type, type Static } from "@sinclair/typebox";
import { slotV1 } from "@clinic/proto";
import { DateTime, StringEnum, Uuid, UuidList, closed, idParams, iso, listSchema, named, pageQueryFields, pageSchema, ref, resourceSchema } from "./common";

const Capacity = Type.Integer({ minimum: 1, maximum: 1000, description: "Seats in the slot." });

export const SlotSchema = resourceSchema("Slot", {
  doctorId: Uuid(),
  startTime: DateTime(),
  endTime: DateTime(),
  capacity: Type.Integer(),
});
export type SlotJson = Static<typeof SlotSchema>;

export const SlotParams = idParams("slotId");

export const CreateSlotBody = Type.Object(
  {
    startTime: DateTime({ description: "Start, RFC 3339 with an offset." }),
    endTime: DateTime({ description: "End (exclusive), after `startTime`." }),
    capacity: Capacity,
  },
  { title: "CreateSlotRequest", additionalProperties: false },
);

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

const WEEKDAY_OF_NAME: Record<WeekdayName, slotV1.Weekday> = {
  monday: slotV1.Weekday.WEEKDAY_MONDAY,
  tuesday: slotV1.Weekday.WEEKDAY_TUESDAY,
  wednesday: slotV1.Weekday.WEEKDAY_WEDNESDAY,
  thursday: slotV1.Weekday.WEEKDAY_THURSDAY,
  friday: slotV1.Weekday.WEEKDAY_FRIDAY,
  saturday: slotV1.Weekday.WEEKDAY_SATURDAY,
  sunday: slotV1.Weekday.WEEKDAY_SUNDAY,
};
export const weekdayOf = (name: WeekdayName): slotV1.Weekday => WEEKDAY_OF_NAME[name];

const TimeOfDay = (description: string, { midnightEnd = false } = {}) =>
  Type.String({
    pattern: midnightEnd ? "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$" : "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    description,
    examples: [midnightEnd ? "17:00" : "09:00"],
  });

export const CreateSlotsBody = Type.Object(
  {
    timeZone: Type.String({
      minLength: 1,
      maxLength: 64,
      description: "IANA time zone in which the dates and times are meant, e.g. `Europe/Berlin`.",
    }),
    startDate: Type.String({ format: "date", description: "First local date, inclusive (`YYYY-MM-DD`)." }),
    endDate: Type.String({ format: "date", description: "Last local date, inclusive (`YYYY-MM-DD`)." }),
    weekdays: Type.Array(StringEnum(WEEKDAYS), { minItems: 1, maxItems: 7, uniqueItems: true }),
    dayStart: TimeOfDay("Local start of the working day (`HH:MM`)."),
    dayEnd: TimeOfDay("Local end of the working day (`HH:MM`, `24:00` for midnight), exclusive.", { midnightEnd: true }),
    slotMinutes: Type.Integer({ minimum: 5, maximum: 1440, description: "Length of each slot in minutes." }),
    capacity: Capacity,
  },
  {
    title: "CreateSlotsRequest",
    additionalProperties: false,
    description: "A weekly schedule, expanded into slots all or nothing.",
  },
);

export const SlotListSchema = listSchema("SlotList", "slots", SlotSchema);

export const SlotPageSchema = pageSchema("SlotPage", "slots", SlotSchema);

export const ListSlotsQuery = Type.Object(
  {
    startFrom: Type.Optional(DateTime({ description: "Only slots starting at or after this instant." })),
    startTo: Type.Optional(DateTime({ description: "Only slots starting before this instant." })),
    ...pageQueryFields(),
  },
  closed,
);

export const BatchGetSlotsQuery = Type.Object(
  {
    ids: UuidList("Slot ids, repeated (`ids=a&ids=b`) or comma-separated; at most 100."),
  },
  closed,
);

export const SlotBatchSchema = Type.Object(
  {
    slots: Type.Array(ref(SlotSchema), { description: "Found slots, in request order." }),
    missingIds: Type.Array(Uuid(), { description: "Requested ids that do not exist." }),
  },
  named("SlotBatch"),
);

export const UpdateSlotBody = Type.Object(
  {
    capacity: Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: "New seat count; never below the seats already held.",
    }),
  },
  { title: "UpdateSlotRequest", additionalProperties: false },
);

export function slotJson(slot: slotV1.Slot | undefined): SlotJson {
  if (!slot) throw new Error("slot service answered without a slot");
  return {
    id: slot.id,
    doctorId: slot.doctorId,
    startTime: iso(slot.startTime, "slot.startTime"),
    endTime: iso(slot.endTime, "slot.endTime"),
    capacity: slot.capacity,
    createTime: iso(slot.createTime, "slot.createTime"),
    updateTime: iso(slot.updateTime, "slot.updateTime"),
  };
}
