// The edge's package entry: what another package (the test stack) may start and configure. The
// process entry is main.ts; everything else stays internal.
export { startEdge, type RunningEdge } from "./app";
export { configSchema, type EdgeConfig } from "./config";
