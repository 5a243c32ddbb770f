import { fromServiceError, isServiceError } from "@clinic/platform/errors";
import { fromRemoteError, promiseClient, type PromiseClient } from "@clinic/platform/grpc";
import { slotV1 } from "@clinic/proto";

/** What booking needs to know about a slot. Capacity here is only the initial seat count. */
export interface SlotInfo {
  id: string;
  doctorId: string;
  startTime: Date;
  endTime: Date;
  capacity: number;
}

const toInfo = (slot: slotV1.Slot): SlotInfo => ({
  id: slot.id,
  doctorId: slot.doctorId,
  startTime: slot.startTime!,
  endTime: slot.endTime!,
  capacity: slot.capacity,
});

/**
 * A failure of the slot service passed on with its meaning (a missing slot stays NOT_FOUND); a
 * dead or failing slot service becomes SLOT_SERVICE_UNAVAILABLE, never INTERNAL.
 */
function fromSlotService(err: unknown): never {
  throw fromRemoteError(err, { peer: "slot", peerDown: "as-sent", unexplained: "unavailable" });
}

/**
 * Booking's calls to the slot service. They go without the caller's token: slots are public to
 * read, so the answer does not depend on who asks, and the slot service need not verify a token
 * on the booking path.
 */
export class SlotClient {
  private readonly slots: PromiseClient<typeof slotV1.SlotServiceService>;

  constructor(client: slotV1.SlotServiceClient) {
    this.slots = promiseClient(client, slotV1.SlotServiceService);
  }

  /** The slot, or undefined when the slot service says SLOT_NOT_FOUND. */
  async getSlot(slotId: string): Promise<SlotInfo | undefined> {
    try {
      const { slot } = await this.slots.getSlot({ id: slotId });
      return slot ? toInfo(slot) : undefined;
    } catch (err) {
      if (isServiceError(err) && fromServiceError(err).reason === "SLOT_NOT_FOUND") return undefined;
      return fromSlotService(err);
    }
  }

  /** The slots found; unknown ids are simply absent. */
  async batchGetSlots(slotIds: readonly string[]): Promise<SlotInfo[]> {
    const response = await this.slots.batchGetSlots({ ids: [...slotIds] }).catch(fromSlotService);
    return response.slots.map(toInfo);
  }
}
