import { runMain } from "@clinic/platform";
import { startEdge } from "./app";
import { loadConfig } from "./config";

runMain("edge", async () => {
  const edge = await startEdge(loadConfig());
  edge.lifecycle.installSignalHandlers();
});
