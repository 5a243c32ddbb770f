// The slot service's package entry: what another package (the test stack) may start and
// configure. The process entry is main.ts; everything else stays internal.
export { startSlotService, type RunningService as RunningSlotService } from "./app";
export { configSchema, type SlotConfig } from "./config";
