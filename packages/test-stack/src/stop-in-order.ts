/** Anything a suite starts and must end: a client (close, disconnect), a service (stop), a scratch database (drop). */
export type Stoppable = { stop(): Promise<unknown> } | { drop(): Promise<unknown> } | { close(): unknown } | { disconnect(): unknown };

/**
 * Ends what a suite started, in the order given (clients before the services they call, services
 * before their databases), skipping whatever never started because an earlier step failed.
 */
export async function stopInOrder(...parts: readonly (Stoppable | undefined)[]): Promise<void> {
  for (const part of parts) {
    if (!part) continue;
    if ("stop" in part) await part.stop();
    else if ("drop" in part) await part.drop();
    else if ("close" in part) part.close();
    else part.disconnect();
  }
}
