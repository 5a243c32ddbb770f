// Tracing first: it must patch http, gRPC, pg, ioredis and kafkajs before they are loaded.
import { telemetry } from "./tracing";
import { runMain } from "@clinic/platform/service";
import { startNotifierService } from "./app";
import { loadConfig } from "./config";

runMain("notifier", async () => {
  const service = await startNotifierService(loadConfig());
  service.lifecycle.onShutdown("telemetry", "telemetry", () => telemetry.shutdown());
  service.lifecycle.installSignalHandlers();
});
