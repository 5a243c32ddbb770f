import { Type, type Static } from "@sinclair/typebox";
import { bookingV1 } from "@clinic/proto";
import { CreateBookingBody } from "./booking";
import { DateTime, StringEnum, Uuid, iso, listSchema, named } from "./common";

const STATES = ["waiting", "offered", "booked", "lapsed", "left", "skipped"] as const;
type StateName = (typeof STATES)[number];
const { WaitlistState } = bookingV1;
const STATE_NAME: Partial<Record<bookingV1.WaitlistState, StateName>> = {
  [WaitlistState.WAITLIST_STATE_WAITING]: "waiting",
  [WaitlistState.WAITLIST_STATE_OFFERED]: "offered",
  [WaitlistState.WAITLIST_STATE_BOOKED]: "booked",
  [WaitlistState.WAITLIST_STATE_LAPSED]: "lapsed",
  [WaitlistState.WAITLIST_STATE_LEFT]: "left",
  [WaitlistState.WAITLIST_STATE_SKIPPED]: "skipped",
};

export const WaitlistEntrySchema = Type.Object(
  {
    id: Uuid(),
    slotId: Uuid(),
    patientId: Uuid(),
    state: StringEnum(STATES, {
      description:
        "`waiting` in the queue (see `position`); `offered`: a seat is held for the patient as booking `offerBookingId` " +
        "until it is confirmed or lapses; `booked`: the offer was confirmed; `lapsed`: it lapsed or was cancelled and the " +
        "seat went to the next in line; `left`; `skipped`: the patient held a seat of the slot already when their turn came.",
    }),
    position: Type.Integer({ minimum: 0, description: "1-based place among those waiting; 0 when not waiting." }),
    offerBookingId: Type.Optional(Uuid()),
    joinTime: DateTime(),
    updateTime: DateTime(),
  },
  named("WaitlistEntry"),
);

export const WaitlistListSchema = listSchema("WaitlistList", "entries", WaitlistEntrySchema);

/** Who waits: the caller, with how to reach them when a seat is offered. */
export const JoinWaitlistBody = Type.Omit(CreateBookingBody, ["slotId", "confirm"], { title: "JoinWaitlistRequest", additionalProperties: false });

export function waitlistEntryJson(entry: bookingV1.WaitlistEntry | undefined): Static<typeof WaitlistEntrySchema> {
  if (!entry) throw new Error("booking service answered without a waitlist entry");
  const state = STATE_NAME[entry.state];
  if (!state) throw new Error(`booking service answered with waitlist state ${entry.state}`);
  return {
    id: entry.id,
    slotId: entry.slotId,
    patientId: entry.patientId,
    state,
    position: entry.position,
    ...(entry.offerBookingId ? { offerBookingId: entry.offerBookingId } : {}),
    joinTime: iso(entry.joinTime, "entry.joinTime"),
    updateTime: iso(entry.updateTime, "entry.updateTime"),
  };
}
