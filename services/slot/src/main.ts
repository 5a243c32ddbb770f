import { runMain } from "@clinic/platform";
import { startSlotService } from "./app";
import { loadConfig } from "./config";

runMain("slot", async () => {
  const service = await startSlotService(loadConfig());
  service.lifecycle.installSignalHandlers();
});
