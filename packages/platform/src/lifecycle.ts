import type { Logger } from "./logger";

interface Closer {
  name: string;
  close: () => Promise<unknown>;
}

/**
 * Ordered shutdown. Resources are closed in the order they were registered, which `main.ts`
 * arranges as: gRPC server (drain), background workers, Kafka, Redis, database, telemetry, so
 * nothing is closed while something still uses it.
 */
export class Lifecycle {
  private readonly closers: Closer[] = [];
  private shutdownPromise: Promise<boolean> | undefined;

  constructor(private readonly logger: Logger) {}

  onShutdown(name: string, close: () => Promise<unknown>): void {
    this.closers.push({ name, close });
  }

  /** For what must stop before everything already registered: the server that takes traffic. */
  prepend(name: string, close: () => Promise<unknown>): void {
    this.closers.unshift({ name, close });
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
    for (const { name, close } of this.closers) {
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
