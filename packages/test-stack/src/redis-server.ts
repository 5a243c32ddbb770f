import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./free-port";

/**
 * A private redis-server child for outage tests: killed and restarted on the same port. The
 * test stack's Redis is shared by test files running in parallel and is never stopped.
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${output}`));
      });
    });
  }

  /** SIGSTOP: the server hangs with its connections open and answers nothing, like a stuck node. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** SIGKILL, like a crash; nothing is persisted, so the cache is empty after a restart. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // "close", not "exit": only then are its output pipes closed too, and nothing of it keeps the
    // test process alive (a leftover pipe held jest workers open after the tests).
    const exited = new Promise((resolve) => child.once("close", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}
