import type { KeyedCache } from "@clinic/platform/cache";
import { notFound } from "@clinic/platform/errors";
import type { BookingMetrics } from "./booking-metrics";
import type { PolicyCache } from "./booking-policy";
import type { BookingShardRepository } from "./booking-repository";
import type { BookingRouter } from "./booking-router";
import { bookingView, type BookingView } from "./booking-view";
import type { RescheduleSaga } from "./reschedule-saga";
import type { SeatCount } from "./seat-counts";
import type { SlotInfo } from "./slot-client";
import type { SlotDirectory } from "./slot-directory";

export interface BookingServiceDeps {
  router: BookingRouter<BookingShardRepository>;
  slots: SlotDirectory;
  /** Read by GetAvailability only; invalidated by the shard repositories after every seat change. */
  seatCounts: KeyedCache<SeatCount>;
  metrics: BookingMetrics;
  holdTtlMs: number;
  /** Each doctor's cancellation window, for the deadline shown on their bookings. */
  policies: PolicyCache;
  /** The window of a doctor without their own (CANCELLATION_WINDOW_HOURS). */
  defaultWindowHours: number;
  /** Moves allowed per booking line (RESCHEDULE_MAX). */
  maxReschedules: number;
  /** Moves to a slot in another shard, and how long a request waits for one (RESCHEDULE_WAIT_MS). */
  saga: RescheduleSaga;
  sagaWaitMs: number;
}

/** What every group of the booking service's handlers works with. */
export interface BookingHandlerContext extends BookingServiceDeps {
  view: BookingView;
  /** The slot from the slot service; NOT_FOUND when it does not exist. */
  requireSlot(slotId: string): Promise<SlotInfo>;
}

export function bookingHandlerContext(deps: BookingServiceDeps): BookingHandlerContext {
  return {
    ...deps,
    view: bookingView(deps.policies, deps.defaultWindowHours),
    async requireSlot(slotId) {
      const slot = await deps.slots.get(slotId);
      if (!slot) throw notFound("slot", slotId);
      return slot;
    },
  };
}
