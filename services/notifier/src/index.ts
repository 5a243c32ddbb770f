// The notifier service's package entry: what another package (the test stack) may start and
// configure. The process entry is main.ts; everything else stays internal.
export { startNotifierService, type NotifierOverrides, type RunningNotifierService } from "./app";
export { configSchema, type NotifierConfig } from "./config";
