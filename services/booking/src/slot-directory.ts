import { SingleFlight } from "@clinic/platform/single-flight";
import type { slotV1 } from "@clinic/proto";
import { SlotClient, type SlotInfo } from "./slot-client";

// Where the booking tests have always found it.
export type { SlotInfo } from "./slot-client";

/**
 * Slot lookups through the slot service with a short in-process cache: concurrent misses for
 * one slot share one call (hot slots see thousands of requests at once). Slot events from Kafka
 * invalidate entries (`invalidate`, `clear`); the TTL bounds what a missed event can leave
 * behind. The seat inventory never depends on this cache.
 */
export class SlotDirectory {
  private readonly cache = new Map<string, { value: SlotInfo; expires: number }>();
  private readonly loads = new SingleFlight<string, SlotInfo | undefined>();
  private readonly slots: SlotClient;
  /** Moves on with every invalidation: a lookup that began before one does not store its answer. */
  private version = 0;

  constructor(
    client: slotV1.SlotServiceClient,
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {
    this.slots = new SlotClient(client);
  }

  async get(slotId: string): Promise<SlotInfo | undefined> {
    const hit = this.cache.get(slotId);
    if (hit && hit.expires > Date.now()) return hit.value;
    // The version when the lookup began: an invalidation while it runs keeps its answer out.
    const version = this.version;
    return this.loads.run(slotId, () => this.fetch(slotId, version));
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
      for (const info of await this.slots.batchGetSlots(missing)) {
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
    this.loads.forget(slotId);
  }

  /** Forget every slot (slot events may have been missed, e.g. while rejoining Kafka). */
  clear(): void {
    this.version += 1;
    this.cache.clear();
    this.loads.forgetAll();
  }

  /** Whether a slot is cached now (tests, diagnostics). */
  has(slotId: string): boolean {
    const hit = this.cache.get(slotId);
    return hit !== undefined && hit.expires > Date.now();
  }

  private async fetch(slotId: string, version: number): Promise<SlotInfo | undefined> {
    const info = await this.slots.getSlot(slotId);
    if (info) this.remember(info, version);
    return info;
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
