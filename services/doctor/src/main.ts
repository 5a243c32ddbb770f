// Tracing first: it must patch http, gRPC, pg, ioredis and kafkajs before they are loaded.
import { telemetry } from "./tracing";
import { runMain } from "@clinic/platform/service";
import { startDoctorService } from "./app";
import { loadConfig } from "./config";

runMain("doctor", async () => {
  const service = await startDoctorService(loadConfig());
  service.lifecycle.onShutdown("telemetry", "telemetry", () => telemetry.shutdown());
  service.lifecycle.installSignalHandlers();
});
