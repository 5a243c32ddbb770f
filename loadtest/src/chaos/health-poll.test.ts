import * as grpc from "@grpc/grpc-js";
import { HealthBoard } from "@clinic/platform/grpc";
import { freePort } from "@clinic/test-stack";
import { firstServing } from "./health-poll";

/** Scenario 6 times the edge from the moment booking's health check first says SERVING. */
describe("polling a restarting service's health check", () => {
  let server: grpc.Server | undefined;
  afterEach(() => server?.forceShutdown());

  it("answers the moment the process says SERVING: not while down, not while NOT_SERVING", async () => {
    const port = await freePort();
    const polled = firstServing(`127.0.0.1:${port}`, 50, 10_000);
    await new Promise((r) => setTimeout(r, 400));
    // Up but not ready yet (dependencies still starting): not healthy.
    const board = new HealthBoard([]);
    server = new grpc.Server();
    board.addToServer(server);
    await new Promise<void>((resolve, reject) =>
      server!.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    await new Promise((r) => setTimeout(r, 400));
    board.setAll("SERVING");
    const servingAt = performance.now();
    const healthyAt = await polled;
    expect(healthyAt).toBeGreaterThanOrEqual(servingAt);
    // One poll period (50 ms) plus a fresh connection; generous for a busy machine.
    expect(healthyAt - servingAt).toBeLessThan(500);
  });

  it("gives up after its timeout when nothing ever serves", async () => {
    await expect(firstServing(`127.0.0.1:${await freePort()}`, 50, 500)).rejects.toThrow(/did not serve its health check/);
  });
});
