import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * The open-handle report, run for real: a child jest with the environment over two test files,
 * one leaving a listening server and a referenced interval open, and an interval made by a timer
 * that fires after the file is done (work left running, as a reconnect would be), plus handles
 * that cannot hold the loop (an unreferenced timer, a cleared one, a closed server); the other
 * closing everything.
 */
const environment = path.join(__dirname, "open-handle-report-environment.js");
const jestBin = require.resolve("jest/bin/jest");

const LEAKY = `
const net = require("node:net");
test("leaves a server and an interval open", async () => {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  setInterval(() => {}, 60_000);
  setInterval(() => {}, 60_000).unref();
  clearTimeout(setTimeout(() => {}, 60_000));
  const closed = net.createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(() => {
  setTimeout(() => setInterval(() => {}, 60_000), 100).unref();
});
`;

const TIDY = `
const net = require("node:net");
test("closes what it opens", async () => {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const interval = setInterval(() => {}, 60_000);
  clearInterval(interval);
  await new Promise((resolve) => server.close(resolve));
});
`;

describe("open-handle report environment", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "clinic-open-handles-"));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the child jest over the given files and returns the report files' text. */
  function runJest(files: Record<string, string>, reportDir?: string): string {
    const project = fs.mkdtempSync(path.join(dir, "project-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(project, name), text);
    const config = { rootDir: project, testEnvironment: environment, testMatch: ["**/*.test.js"], transform: {} };
    const env = { ...process.env };
    delete env.CLINIC_TEST_HANDLE_REPORT;
    const run = spawnSync(process.execPath, [jestBin, "--ci", "--runInBand", "--forceExit", "--config", JSON.stringify(config)], {
      cwd: project,
      env: { ...env, ...(reportDir ? { CLINIC_TEST_HANDLE_REPORT: reportDir } : {}), CLINIC_TEST_HANDLE_GRACE_MS: "1000" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect({ status: run.status, stderr: run.status === 0 ? "" : run.stderr }).toEqual({ status: 0, stderr: "" });
    if (!reportDir || !fs.existsSync(reportDir)) return "";
    return fs
      .readdirSync(reportDir)
      .map((name) => fs.readFileSync(path.join(reportDir, name), "utf8"))
      .join("");
  }

  it("names the file and each handle it left holding the loop, with the line that made it", () => {
    const report = runJest({ "leaky.test.js": LEAKY, "tidy.test.js": TIDY }, path.join(dir, "report"));
    const headers = report.split("\n").filter((line) => line.includes(".test.js: "));
    expect(headers).toEqual([expect.stringMatching(/leaky\.test\.js: 3 handle\(s\) still open 1000 ms after its teardown$/)]);
    expect(report).toMatch(/^ {2}TCPSERVERWRAP \(async id \d+\), created$/m);
    expect(report.match(/^ {2}Timeout \(async id \d+(, made after the file's teardown)?\), created$/gm)).toHaveLength(2);
    expect(report).toMatch(/leaky\.test\.js:\d+:\d+/);
    expect(report).not.toContain("tidy.test.js");
  });

  it("is the run's environment only when a report directory is named", () => {
    const configWith = (value: string | undefined): { testEnvironment: string } => {
      const saved = process.env.CLINIC_TEST_HANDLE_REPORT;
      if (value === undefined) delete process.env.CLINIC_TEST_HANDLE_REPORT;
      else process.env.CLINIC_TEST_HANDLE_REPORT = value;
      try {
        let config: { testEnvironment: string } | undefined;
        jest.isolateModules(() => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.config.js is CommonJS, read as jest reads it
          config = require("../../jest.config.js") as { testEnvironment: string };
        });
        return config!;
      } finally {
        if (saved === undefined) delete process.env.CLINIC_TEST_HANDLE_REPORT;
        else process.env.CLINIC_TEST_HANDLE_REPORT = saved;
      }
    };
    expect(configWith(undefined).testEnvironment).toBe("node");
    expect(configWith(path.join(dir, "elsewhere")).testEnvironment).toBe(environment);
  });
});
