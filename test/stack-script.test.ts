import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { isolatedStackEnv } from "@clinic/test-stack";

const run = promisify(execFile);
const repo = path.join(__dirname, "..");

/**
 * scripts/stack with state of its own: values it generates or keeps must never be read as
 * options, and a component whose saved state stops it from starting says how to recover.
 */
describe("scripts/stack", () => {
  jest.setTimeout(300_000);
  const stateDir = mkdtempSync(path.join(tmpdir(), "clinic-stack-"));
  const env = isolatedStackEnv(stateDir);
  const stack = (...args: string[]) => run("bash", [path.join(repo, "scripts/stack"), ...args], { env, timeout: 240_000 });
  const kafkaDir = path.join(stateDir, "kafka");

  afterAll(async () => {
    await stack("reset").catch(() => undefined);
  });

  it("formats Kafka's storage with a cluster id that starts with '-'", async () => {
    // One base64url id in 64 starts with "-"; Kafka's argument parser used to take it for an option.
    const id = "-x_sjCy8qGrp6Lmvwsn8Fg";
    mkdirSync(kafkaDir, { recursive: true });
    writeFileSync(path.join(kafkaDir, "cluster.id"), id);
    await stack("up", "kafka");
    expect(readFileSync(path.join(kafkaDir, "data", "meta.properties"), "utf8")).toContain(`cluster.id=${id}`);
    await stack("down", "kafka");
  });

  it("says how to recover when saved state stops a component, and `reset <component>` recovers", async () => {
    // Storage formatted for another node: the broker refuses to start, on every run.
    const meta = path.join(kafkaDir, "data", "meta.properties");
    writeFileSync(meta, readFileSync(meta, "utf8").replace(/^node\.id=.*$/m, "node.id=7"));
    const failed = await stack("up", "kafka").then(
      () => undefined,
      (err: { stderr: string }) => err.stderr,
    );
    expect(failed).toBeDefined();
    expect(failed).toContain(`CLINIC_STATE_DIR=${stateDir} scripts/stack reset kafka`);

    const { stdout } = await stack("reset", "kafka");
    expect(stdout).toMatch(/^kafka +removed /m);
    await stack("up", "kafka");
    // A fresh id, made the way Kafka makes them.
    const id = readFileSync(path.join(kafkaDir, "cluster.id"), "utf8");
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(readFileSync(meta, "utf8")).toContain(`cluster.id=${id}`);
  });
});
