import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { createGrpcClient, MAX_RECONNECT_BACKOFF_MS } from "./grpc-client";
import { HealthBoard, healthServiceDefinition } from "./health";

/**
 * A restarted peer is reached again within a second of serving, however long it was down: the
 * edge's promise after a booking service restart. grpc-js's reconnect backoff grows with the
 * outage up to `grpc.max_reconnect_backoff_ms`, plus up to 20 % jitter; with a 1 s cap a
 * channel could wait 1.2 s after the peer came back.
 */

const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");
type HealthCheck = (
  req: { service: string },
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, res?: { status: string }) => void,
) => void;
type Health = grpc.Client & { Check: HealthCheck };

/** A real gRPC server with the health service, serving, on the given port (0: any free one). */
async function startServer(port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const board = new HealthBoard([]);
  board.setAll("SERVING");
  board.addToServer(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

/**
 * One health check; with `waitForReady` (a metadata option in grpc-js) it waits for the channel's
 * connection within its deadline instead of failing at once.
 */
function check(client: Health, deadlineMs: number, waitForReady: boolean): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Check({ service: "" }, new grpc.Metadata({ waitForReady }), { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res!.status),
    ),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the client's next connection attempt on the dead server's port (a plain listener
 * that hangs up at once, as a refused connection would fail) and frees the port again: a server
 * started right after it is reached only at the attempt after, a whole backoff period later. So
 * the test measures the worst phase, not a random point of the backoff.
 */
async function nextConnectionAttempt(port: number): Promise<void> {
  const listener = net.createServer();
  const attempted = new Promise<void>((resolve) =>
    listener.on("connection", (socket) => {
      socket.destroy();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => listener.once("error", reject).listen(port, "127.0.0.1", resolve));
  await attempted;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
}

describe("internal gRPC channels after a peer restart", () => {
  /** Long enough for the backoff to reach its cap (100 ms growing by 1.6: 500 ms after about 1.4 s, 1 s after 4 s). */
  const OUTAGE_MS = 5_000;
  const PROMISE_MS = 1_000;

  let server: grpc.Server | undefined;
  let client: Health | undefined;

  afterEach(() => {
    client?.close();
    server?.forceShutdown();
    server = undefined;
  });

  it("caps the reconnect backoff so that its worst case with jitter stays under a second", () => {
    expect(MAX_RECONNECT_BACKOFF_MS * 1.2).toBeLessThan(PROMISE_MS);
  });

  it("answers a call within a second of the server serving again on the same port", async () => {
    const first = await startServer(0);
    server = first.server;
    client = createGrpcClient(HealthClient as unknown as new (...args: ConstructorParameters<typeof grpc.Client>) => Health, {
      address: `127.0.0.1:${first.port}`,
      serviceName: "grpc.health.v1.Health",
      deadlineMs: 5_000,
    });
    expect(await check(client, 2_000, false)).toBe("SERVING");

    server.forceShutdown();
    await sleep(100);
    // While it is down a call fails at once (fail-fast), as the edge's do: nothing waits silently.
    await expect(check(client, 2_000, false)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await sleep(OUTAGE_MS);

    await nextConnectionAttempt(first.port);
    server = (await startServer(first.port)).server;
    const servingAt = performance.now();
    // The call may wait for the channel's next connection attempt, within a deadline well past
    // the promise, so a slow channel shows as a measured time, not as a timeout.
    expect(await check(client, 5_000, true)).toBe("SERVING");
    const answeredAfterMs = performance.now() - servingAt;
    // At least most of one backoff period (80 %, the jitter's low end, less scheduling slack):
    // else the test did not catch the worst phase and proves little.
    expect(answeredAfterMs).toBeGreaterThan(MAX_RECONNECT_BACKOFF_MS * 0.8 - 100);
    expect(answeredAfterMs).toBeLessThan(PROMISE_MS);
  }, 30_000);
});
