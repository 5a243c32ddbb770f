import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { connect } from "node:net";
import { Registry } from "prom-client";
import { createLiveMetrics } from "./live-metrics";
import { listHash } from "./resume-token";
import type { SlotState } from "./seat-state";
import { SeatStream } from "./seat-stream";

/**
 * A stream over a real socket whose client stops reading: what piles up in the edge must stay
 * bounded however many updates come, and the client, once it reads again, ends with the latest.
 */
describe("SeatStream and a client that does not read", () => {
  const slotIds = ["0190a1b2-0000-7000-8000-00000000000a", "0190a1b2-0000-7000-8000-00000000000b"];
  let server: http.Server;
  let client: Socket;
  let stream: SeatStream;
  let res: http.ServerResponse;
  let received = "";
  const registry = new Registry();
  const metrics = createLiveMetrics(registry);

  beforeEach(async () => {
    received = "";
    const opened = new Promise<http.ServerResponse>((resolve) => {
      server = http.createServer((_req, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" });
        resolve(response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = connect((server.address() as AddressInfo).port, "127.0.0.1");
    client.on("connect", () => client.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n"));
    client.setEncoding("utf8");
    client.on("data", (chunk: string) => (received += chunk));
    res = await opened;
    stream = new SeatStream(res, "127.0.0.1", slotIds, listHash(slotIds), new Map(), metrics);
    stream.begin(3_000);
  });

  afterEach(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const seats = (slotId: string, capacity: number, held: number): SlotState => ({
    kind: "seats",
    seats: { slotId, capacity, held, remaining: capacity - held },
  });

  it("keeps only the latest update per slot while the socket is backed up, then sends it", async () => {
    client.pause();
    const CAPACITY = 1_000_000;
    const pushedBefore = (await registry.getSingleMetric("live_availability_updates_pushed_total")!.get()).values[0]!.value;
    // Far more than any socket buffer takes: without the bound, all of it would queue in the edge.
    let maxQueued = 0;
    for (let held = 0; held < 200_000; held++) {
      stream.offer(seats(slotIds[held % 2]!, CAPACITY, held));
      maxQueued = Math.max(maxQueued, res.writableLength);
    }
    // The socket's own buffer and one message beyond it, whatever was offered.
    expect(maxQueued).toBeLessThan(res.writableHighWaterMark + 1_024);
    const pushed = (await registry.getSingleMetric("live_availability_updates_pushed_total")!.get()).values[0]!.value - pushedBefore;
    const dropped = (await registry.getSingleMetric("live_availability_updates_dropped_total")!.get()).values[0]!.value;
    expect(pushed).toBeLessThan(200_000);
    expect(dropped).toBeGreaterThan(0);

    client.resume();
    const last = (slotId: string) => {
      const frames = received.split("\n\n").filter((f) => f.includes(slotId));
      return frames.length > 0 ? JSON.parse(frames.at(-1)!.split("data: ")[1]!) : undefined;
    };
    const deadline = Date.now() + 10_000;
    while (last(slotIds[1]!)?.held !== 199_999 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(last(slotIds[0]!)).toEqual({ slotId: slotIds[0], capacity: CAPACITY, held: 199_998, remaining: CAPACITY - 199_998 });
    expect(last(slotIds[1]!)).toEqual({ slotId: slotIds[1], capacity: CAPACITY, held: 199_999, remaining: CAPACITY - 199_999 });
  });

  it("cuts off a client that has not read for the stall timeout, and not before", async () => {
    client.pause();
    for (let held = 0; held < 200_000 && !res.writableNeedDrain; held++) stream.offer(seats(slotIds[0]!, 1_000_000, held));
    expect(res.writableNeedDrain).toBe(true);
    const closed = new Promise<void>((resolve) => stream.onClose(resolve));
    const now = Date.now();
    expect(stream.heartbeat(now + 500, 1_000)).toBe(true);
    expect(stream.isClosed).toBe(false);
    expect(stream.heartbeat(now + 1_500, 1_000)).toBe(false);
    await closed;
    expect(stream.isClosed).toBe(true);
  });

  it("writes a heartbeat comment and nothing for a state the client already has", async () => {
    stream.offer(seats(slotIds[0]!, 2, 1));
    stream.offer(seats(slotIds[0]!, 2, 1));
    expect(stream.heartbeat(Date.now(), 60_000)).toBe(true);
    const deadline = Date.now() + 5_000;
    while (!received.includes(": ping") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received.match(/event: availability/g)).toHaveLength(1);
    expect(received).toContain("retry: 3000\n\n");
    expect(received).toContain(": ping\n\n");
  });
});
