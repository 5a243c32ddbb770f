import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { isolatedStackEnv, readStackSettings, repoRoot } from "./platform-processes";

const run = promisify(execFile);

/**
 * A Kafka broker of a test's own, started, stopped, frozen and restarted with the repository's
 * stack script: tests that break Kafka on purpose must leave the shared test broker serving the
 * other test files.
 */
export class PrivateKafka {
  private readonly stateDir = mkdtempSync(path.join(tmpdir(), "clinic-kafka-"));
  private readonly env = isolatedStackEnv(this.stateDir);
  private frozen = false;
  brokers = "";

  async up(): Promise<void> {
    await this.stack(150_000, "up", "kafka");
    this.brokers = readStackSettings(this.stateDir)["KAFKA_BROKERS"]!;
  }

  down(): Promise<void> {
    return this.stack(60_000, "down", "kafka");
  }

  /** Stops the broker's process where it is (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void {
    process.kill(this.pid(), "SIGSTOP");
    this.frozen = true;
  }

  /** Lets a frozen broker go on (SIGCONT) with whatever reached it meanwhile. */
  thaw(): void {
    if (!this.frozen) return;
    process.kill(this.pid(), "SIGCONT");
    this.frozen = false;
  }

  /** Thaws, stops and deletes the broker's state directory. */
  async reset(): Promise<void> {
    this.thaw();
    await this.stack(60_000, "reset");
  }

  private pid(): number {
    return Number(readFileSync(path.join(this.stateDir, "run", "kafka.pid"), "utf8").trim());
  }

  private async stack(timeout: number, ...args: string[]): Promise<void> {
    await run("bash", [path.join(repoRoot, "scripts/stack"), ...args], { env: this.env, timeout });
  }
}
