// Tracing first: it must patch http, gRPC, pg, ioredis and kafkajs before they are loaded.
import { telemetry } from "./tracing";
import { runMain } from "@clinic/platform/service";
import { startSlotService } from "./app";
import { loadConfig } from "./config";

runMain("slot", async () => {
  const service = await startSlotService(loadConfig());
  service.lifecycle.onShutdown("telemetry", "telemetry", () => telemetry.shutdown());
  service.lifecycle.installSignalHandlers();
});
