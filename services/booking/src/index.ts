// The booking service's package entry: what another package (the test stack) may start and
// configure. The process entry is main.ts; everything else stays internal.
export { startBookingService, type RunningBookingService } from "./app";
export { configSchema, type BookingConfig } from "./config";
