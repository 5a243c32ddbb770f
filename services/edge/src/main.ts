// Tracing first: it must patch http, gRPC, pg, ioredis and kafkajs before they are loaded.
import { telemetry } from "./tracing";
import { runMain } from "@clinic/platform/service";
import { startEdge } from "./app";
import { loadConfig } from "./config";

runMain("edge", async () => {
  const edge = await startEdge(loadConfig());
  edge.lifecycle.onShutdown("telemetry", "telemetry", () => telemetry.shutdown());
  edge.lifecycle.installSignalHandlers();
});
