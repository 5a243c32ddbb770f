// The doctor service's package entry: what another package (the test stack) may start and
// configure. The process entry is main.ts; everything else stays internal.
export { startDoctorService, type RunningService as RunningDoctorService } from "./app";
export { configSchema, type DoctorConfig } from "./config";
