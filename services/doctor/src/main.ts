import { runMain } from "@clinic/platform";
import { startDoctorService } from "./app";
import { loadConfig } from "./config";

runMain("doctor", async () => {
  const service = await startDoctorService(loadConfig());
  service.lifecycle.installSignalHandlers();
});
