import { runMain } from "@clinic/platform";
import { startNotifierService } from "./app";
import { loadConfig } from "./config";

runMain("notifier", async () => {
  const service = await startNotifierService(loadConfig());
  service.lifecycle.installSignalHandlers();
});
