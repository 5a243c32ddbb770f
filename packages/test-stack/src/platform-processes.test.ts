import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parseStackEnv, repoRoot } from "./platform-processes";

const run = promisify(execFile);

/**
 * stack.env as scripts/stack writes it (`env_line` in scripts/stack.d/common.sh), read back by the
 * tests and by a shell sourcing it (scripts/test, loadtest/run, chaos/run): both must get each
 * value exactly as it was set.
 */
describe("stack.env values", () => {
  const values = {
    ADMIN_PASSWORD: "it's a pass phrase",
    QUOTES: `"double" and 'single' and '\\''`,
    SHELLISH: "$HOME `id` $(id) ; & | < > # \\ ~",
    EDGE_URL: "http://127.0.0.1:8080",
    DASHBOARDS_URL: "http://127.0.0.1:8428/vmui/#/dashboards",
    CLINIC_DB_BOOKING_SHARDS: "127.0.0.1:15600/clinic_booking_0,127.0.0.1:15601/clinic_booking_1",
    EMPTY: "",
  };
  const stateDir = mkdtempSync(path.join(tmpdir(), "clinic-stack-env-"));
  let written = "";

  beforeAll(async () => {
    // common.sh is what the stack sources: its env_line, with the values passed as arguments.
    const script = `source "$1/scripts/stack.d/common.sh"; shift; while [ $# -gt 0 ]; do env_line "$1" "$2"; shift 2; done`;
    const args = Object.entries(values).flat();
    written = (await run("bash", ["-c", script, "bash", repoRoot, ...args], { env: { ...process.env, CLINIC_STATE_DIR: stateDir } })).stdout;
  });

  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it("leaves plain values bare and quotes the rest", () => {
    expect(written).toContain("EDGE_URL=http://127.0.0.1:8080\n");
    expect(written).toContain("ADMIN_PASSWORD='it'\\''s a pass phrase'\n");
  });

  it("reads every value back as it was set", () => {
    expect(parseStackEnv(written)).toEqual(values);
  });

  it("gives a shell that sources the file the same values", async () => {
    const names = Object.keys(values);
    const file = path.join(stateDir, "stack.env");
    writeFileSync(file, written);
    const script = `set -a; . "$1"; set +a; shift; node -e 'console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((k) => [k, process.env[k]]))))' "$@"`;
    const { stdout } = await run("bash", ["-c", script, "bash", file, ...names], { env: { PATH: process.env["PATH"] } });
    expect(JSON.parse(stdout)).toEqual(values);
  });

  it("refuses a value a shell would read differently than written", () => {
    expect(() => parseStackEnv("ADMIN_PASSWORD=two words\n")).toThrow('" " outside quotes');
    expect(() => parseStackEnv("ADMIN_PASSWORD='open\n")).toThrow("unterminated quote");
  });
});
