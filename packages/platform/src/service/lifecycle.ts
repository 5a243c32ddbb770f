import type { Logger } from "../logging/logger";

/**
 * Shutdown stages, in the order they run: stop taking traffic (drain servers), stop background
 * work (sweepers, relays, consumers), close messaging, close clients of other services and
 * caches, close databases, then serve the last metrics and flush telemetry. Nothing is closed
 * while something registered in an earlier stage may still use it.
 */
export const SHUTDOWN_STAGES = ["traffic", "workers", "messaging", "clients", "storage", "telemetry"] as const;
export type ShutdownStage = (typeof SHUTDOWN_STAGES)[number];

interface Closer {
  name: string;
  stage: ShutdownStage;
  close: () => Promise<unknown>;
}

/** Ordered shutdown by stage; within a stage, in registration order. */
export class Lifecycle {
  private readonly closers: Closer[] = [];
  private shutdownPromise: Promise<boolean> | undefined;

  constructor(private readonly logger: Logger) {}

  onShutdown(name: string, stage: ShutdownStage, close: () => Promise<unknown>): void {
    this.closers.push({ name, stage, close });
  }

  get shuttingDown(): boolean {
    return this.shutdownPromise !== undefined;
  }

  /** Idempotent; resolves true when every resource closed without error. */
  shutdown(reason: string): Promise<boolean> {
    this.shutdownPromise ??= this.runShutdown(reason);
    return this.shutdownPromise;
  }

  private async runShutdown(reason: string): Promise<boolean> {
    this.logger.info({ reason }, "shutting down");
    let clean = true;
    const ordered = SHUTDOWN_STAGES.flatMap((stage) => this.closers.filter((c) => c.stage === stage));
    for (const { name, close } of ordered) {
      try {
        await close();
        this.logger.debug({ resource: name }, "closed");
      } catch (err) {
        clean = false;
        this.logger.error({ err, resource: name }, "failed to close resource");
      }
    }
    this.logger.fatal({ reason, clean }, "stopped");
    return clean;
  }

  /** SIGTERM/SIGINT start the shutdown once; a second signal exits at once. */
  installSignalHandlers(): void {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.on(signal, () => {
        if (this.shuttingDown) {
          this.logger.warn({ signal }, "second signal during shutdown: exiting now");
          process.exit(130);
        }
        void this.shutdown(signal).then((clean) => process.exit(clean ? 0 : 1));
      });
    }
  }
}

/**
 * Runs a service's start-up. A failing step (bad config, database unreachable, port taken) stops
 * the process with a clear message and a non-zero code instead of leaving it half-started.
 */
export function runMain(service: string, start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${service}: start-up failed: ${message}\n`);
    process.exit(1);
  });
}

/**
 * Runs a service's start-up steps; when one fails, whatever the earlier steps registered with the
 * lifecycle (pools, clients, servers) is closed again before the error is passed on.
 */
export async function startOrRelease<T>(lifecycle: Lifecycle, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    await lifecycle.shutdown("start-up failed");
    throw err;
  }
}
