import { DomainError, domainErrorFromRemote, fromServiceError, isServiceError, unary } from "@clinic/platform";
import type { slotV1 } from "@clinic/proto";

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

/** A remote failure passed on with its meaning; a dead peer becomes UNAVAILABLE, never INTERNAL. */
export function rethrowRemote(err: unknown): never {
  if (isServiceError(err)) {
    const domain = domainErrorFromRemote(fromServiceError(err));
    throw domain ?? new DomainError("unavailable", "SLOT_SERVICE_UNAVAILABLE", "slot service did not answer");
  }
  throw err;
}

/**
 * Slot lookups through the slot service with a short in-process cache: concurrent misses for
 * one slot share one call (hot slots see thousands of requests at once). Slot events from Kafka
 * invalidate entries (`invalidate`, `clear`); the TTL bounds what a missed event can leave
 * behind. The seat inventory never depends on this cache.
 *
 * Lookups go without the caller's token: slots are public to read, so the answer does not depend
 * on who asks, and the slot service need not verify a token on the booking path.
 */
export class SlotDirectory {
  private readonly cache = new Map<string, { value: SlotInfo; expires: number }>();
  private readonly inFlight = new Map<string, Promise<SlotInfo | undefined>>();
  /** Moves on with every invalidation: a lookup that began before one does not store its answer. */
  private version = 0;

  constructor(
    private readonly client: slotV1.SlotServiceClient,
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  async get(slotId: string): Promise<SlotInfo | undefined> {
    const hit = this.cache.get(slotId);
    if (hit && hit.expires > Date.now()) return hit.value;
    let pending = this.inFlight.get(slotId);
    if (!pending) {
      const started: Promise<SlotInfo | undefined> = this.fetch(slotId).finally(() => {
        if (this.inFlight.get(slotId) === started) this.inFlight.delete(slotId);
      });
      pending = started;
      this.inFlight.set(slotId, started);
    }
    return pending;
  }

  /** Many slots at once (availability); unknown ids are simply absent from the result. */
  async getMany(slotIds: readonly string[]): Promise<Map<string, SlotInfo>> {
    const result = new Map<string, SlotInfo>();
    const missing: string[] = [];
    for (const id of slotIds) {
      const hit = this.cache.get(id);
      if (hit && hit.expires > Date.now()) result.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const version = this.version;
      const response = await unary(this.client.batchGetSlots.bind(this.client), { ids: missing }).catch(rethrowRemote);
      for (const slot of response.slots) {
        const info = toInfo(slot);
        this.remember(info, version);
        result.set(info.id, info);
      }
    }
    return result;
  }

  /** Forget a slot (it was deleted or changed). */
  invalidate(slotId: string): void {
    this.version += 1;
    this.cache.delete(slotId);
    this.inFlight.delete(slotId);
  }

  /** Forget every slot (slot events may have been missed, e.g. while rejoining Kafka). */
  clear(): void {
    this.version += 1;
    this.cache.clear();
    this.inFlight.clear();
  }

  /** Whether a slot is cached now (tests, diagnostics). */
  has(slotId: string): boolean {
    const hit = this.cache.get(slotId);
    return hit !== undefined && hit.expires > Date.now();
  }

  private async fetch(slotId: string): Promise<SlotInfo | undefined> {
    const version = this.version;
    try {
      const { slot } = await unary(this.client.getSlot.bind(this.client), { id: slotId });
      if (!slot) return undefined;
      const info = toInfo(slot);
      this.remember(info, version);
      return info;
    } catch (err) {
      if (isServiceError(err) && fromServiceError(err).reason === "SLOT_NOT_FOUND") return undefined;
      return rethrowRemote(err);
    }
  }

  private remember(info: SlotInfo, version: number): void {
    if (this.ttlMs === 0 || version !== this.version) return;
    if (this.cache.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(info.id, { value: info, expires: Date.now() + this.ttlMs });
  }
}
