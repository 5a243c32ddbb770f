import { runMain } from "@clinic/platform";
import { startBookingService } from "./app";
import { loadConfig } from "./config";

runMain("booking", async () => {
  const service = await startBookingService(loadConfig());
  service.lifecycle.installSignalHandlers();
});
