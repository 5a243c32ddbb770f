import * as grpc from "@grpc/grpc-js";
import { healthServiceDefinition } from "@clinic/platform/grpc";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");

/**
 * One health check on a fresh channel: a long-lived channel would add its own reconnect backoff
 * to the moment measured. Its own subchannel pool, or grpc-js would share the connection (and its
 * backoff) of the previous "fresh" channel through the process-wide pool, and keep reconnecting
 * to an address nobody serves after the channel closed. Answers whether the process said SERVING.
 */
function serving(address: string, timeoutMs: number): Promise<boolean> {
  const client = new HealthClient(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }) as unknown as grpc.Client & {
    Check: (req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void;
  };
  return new Promise<boolean>((resolve) => {
    client.Check({ service: "" }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      resolve(!err && res?.status === "SERVING");
    });
  });
}

/** Polls the health check every `everyMs` and answers when (performance.now) it first said SERVING. */
export async function firstServing(address: string, everyMs: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const started = performance.now();
    if (await serving(address, everyMs * 4)) return performance.now();
    if (started > deadline) throw new Error(`${address} did not serve its health check within ${timeoutMs / 1000} s`);
    await sleep(Math.max(0, everyMs - (performance.now() - started)));
  }
}
