import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PgbenchResult } from "./modes/pgbench";
import type { PoolerResult } from "./modes/pooler";
import type { ModeName, Options, ScenarioName } from "./options";
import type { HotSlotResult } from "./scenarios/common";
import type { LatencySummary } from "./stats";
import type { Verification } from "./verify";

export const MODE_LABEL: Record<ModeName, string> = {
  edge: "(a) edge HTTP",
  grpc: "(b) booking gRPC",
  baseline: "(c) seed FOR UPDATE",
  pgbench: "(d) our SQL, pgbench",
};

/** The design document's single-node claim (section 10.1), the yardstick of the issue. */
export const DESIGN_CLAIM = { bookingsPerS: [50, 100], p99Ms: [300, 500] } as const;

export interface RunResult {
  scenario: ScenarioName;
  mode: ModeName;
  label: string;
  concurrency: number;
  seconds: number;
  requests: number;
  requestsPerS: number;
  bookings: number;
  bookingsPerS: number;
  /** bookings/s over (d)'s bookings/s in the same scenario (attempts/s for the hot slot). */
  ratioToPgbench?: number;
  latency: LatencySummary;
  latencyByKind: Record<string, LatencySummary>;
  statuses: Record<string, number>;
  nonSuccess: number;
  /** Answers 429 (in `nonSuccess` and `statuses` too): refused by the edge's rate limiter. */
  rateLimited: number;
  /** Patients who made requests in this run, and the most requests one of them made. */
  patientLoad: { patients: number; busiest: number };
  hot?: { slots: number; exact: number; booked: number; full: number; other: number; perSlot: HotSlotResult[] };
  verification: Verification;
  /** False for the seed baseline: its violations are reported, not fatal. */
  violationsFailRun: boolean;
  /** Percent of one core per process over the run. */
  cpu?: Record<string, number>;
  /**
   * CPU milliseconds per request of each stack process (load generators excluded), and the
   * request rate those costs allow when the stack has every core to itself: a projection that
   * holds on a busy shared machine, where the measured rate does not.
   */
  cpuPerRequest?: { stackMs: number; byProcess: Record<string, number>; ceilingPerS: number };
  pgbench?: PgbenchResult;
  /** Booking clients through PgBouncer (mode d, spread, when the stack pools the shards). */
  pooler?: PoolerResult;
  notes: string[];
}

export interface BenchmarkReport {
  meta: {
    date: string;
    runId: string;
    command: string;
    host: { cores: number; cpuModel: string; memoryGiB: number; node: string; platform: string; postgres?: string };
    /** 1/5/15-minute load averages: above the core count, something else competed for the CPU. */
    loadAverage: { start: number[]; end: number[] };
    options: Options;
    stack: { edge: string; booking: string; pgbenchShard: string; shards: number };
    /** Simulated patients, each with its own minted token. */
    patients: number;
    /** How the tokens were obtained, and the edge's per-account policy as its headers state it. */
    auth: { admin: string; signingKid: string; issuer: string; audience: string; accountRateLimitPolicy?: string };
    designClaim: typeof DESIGN_CLAIM;
  };
  runs: RunResult[];
  ok: boolean;
  files: { json: string; chart?: string; chartError?: string };
}

/** Processes that generate load rather than serve it, and the machine-wide totals. */
const NOT_STACK = new Set(["machine", "other", "harness", "pgbench"]);

export function cpuPerRequest(cpu: Record<string, number>, requestsPerS: number, cores: number): RunResult["cpuPerRequest"] {
  if (requestsPerS <= 0) return undefined;
  const byProcess: Record<string, number> = {};
  let stackMs = 0;
  for (const [name, pct] of Object.entries(cpu)) {
    if (NOT_STACK.has(name)) continue;
    const msPerRequest = (pct / 100) * (1000 / requestsPerS);
    byProcess[name] = Math.round(msPerRequest * 1000) / 1000;
    stackMs += msPerRequest;
  }
  return { stackMs: Math.round(stackMs * 1000) / 1000, byProcess, ceilingPerS: Math.round((cores * 1000) / stackMs) };
}

export function hostInfo(postgres?: string): BenchmarkReport["meta"]["host"] {
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    ...(postgres ? { postgres } : {}),
  };
}

const n0 = (v: number): string => Math.round(v).toLocaleString("en-US");
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

function topStatuses(statuses: Record<string, number>): string {
  const bad = Object.entries(statuses).filter(([k]) => !/ (OK|200|201)$/.test(k));
  if (bad.length === 0) return "-";
  return bad
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k}:${n0(v)}`)
    .join(" ");
}

/** One block per scenario, one row per mode, then the side-by-side summary of bookings/s. */
export function renderTables(report: BenchmarkReport): string {
  const lines: string[] = [];
  const widths = [22, 8, 10, 7, 8, 8, 8, 8];
  const scenarios = [...new Set(report.runs.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const runs = report.runs.filter((r) => r.scenario === scenario);
    lines.push("", `== ${scenario} ==`);
    lines.push(pad(["mode", "req/s", "bookings/s", "vs (d)", "p50 ms", "p95 ms", "p99 ms", "max ms"], widths) + "  check      429  non-2xx");
    for (const r of runs) {
      const check = r.verification.ok ? "ok" : r.violationsFailRun ? "FAIL" : "VIOL";
      lines.push(
        pad(
          [r.label, n0(r.requestsPerS), n0(r.bookingsPerS), r.ratioToPgbench === undefined ? "-" : `${r.ratioToPgbench.toFixed(2)}x`, ms(r.latency.p50), ms(r.latency.p95), ms(r.latency.p99), ms(r.latency.max)],
          widths,
        ) + `  ${check.padEnd(5)}  ${(r.rateLimited > 0 ? n0(r.rateLimited) : "-").padStart(7)}  ${topStatuses(r.statuses)}`,
      );
    }
    for (const r of runs) {
      if (r.hot) {
        lines.push(
          `   ${r.label}: ${r.hot.slots} hot slots x ${r.concurrency} clients: ${r.hot.exact}/${r.hot.slots} with exactly their capacity booked; ` +
            `${n0(r.hot.booked)} booked, ${n0(r.hot.full)} SLOT_FULL, ${n0(r.hot.other)} other`,
        );
      }
    }
    for (const r of runs) {
      if (r.cpu) {
        const { machine = 0, ...parts } = r.cpu;
        const top = Object.entries(parts).filter(([, v]) => v >= 1).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");
        lines.push(`   cpu% ${r.label}: machine ${machine.toFixed(0)} of ${report.meta.host.cores * 100} = ${top}`);
        if (r.cpuPerRequest) {
          const parts = Object.entries(r.cpuPerRequest.byProcess).filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
          lines.push(`        cpu ms/request ${r.cpuPerRequest.stackMs.toFixed(2)} (${parts}) -> ~${n0(r.cpuPerRequest.ceilingPerS)} req/s if the stack had all ${report.meta.host.cores} cores`);
        }
      }
    }
  }

  for (const { pooler } of report.runs) {
    if (!pooler) continue;
    lines.push(
      "",
      `== pooler: ${pooler.clients} booking clients through PgBouncer (transaction pooling, pool of ${pooler.poolSize} per shard) ==`,
      `   ${pooler.ok ? "ok" : "FAIL"}: at most ${pooler.peakServerConnections} server connections (PgBouncer) and ${pooler.peakBackendsAdded} more ` +
        `PostgreSQL backends for ${pooler.peakClientConnections} clients connected at once; ${n0(pooler.tps)} tx/s, ` +
        `${n0(pooler.transactions)} transactions, ${pooler.failed} failed`,
    );
  }

  const modes = [...new Set(report.runs.map((r) => r.mode))];
  lines.push("", "== side by side: bookings/s (ratio to (d) pgbench); hot slot: attempts/s, since its bookings are capped by the seats; 429!: rate limited ==");
  const w = [10, ...modes.map(() => 22)];
  lines.push(pad(["scenario", ...modes.map((m) => MODE_LABEL[m])], w));
  for (const scenario of scenarios) {
    const cells = modes.map((m) => {
      const r = report.runs.find((x) => x.scenario === scenario && x.mode === m);
      if (!r) return "-";
      const limited = r.rateLimited > 0 ? " 429!" : "";
      return `${n0(scenario === "hot" ? r.requestsPerS : r.bookingsPerS)}${r.ratioToPgbench === undefined ? "" : ` (${r.ratioToPgbench.toFixed(2)}x)`}${limited}`;
    });
    lines.push(pad([scenario, ...cells], w));
  }
  const limited = report.runs.filter((r) => r.rateLimited > 0);
  lines.push(
    "",
    limited.length === 0
      ? "rate limits: no answer was 429 RATE_LIMITED"
      : `rate limits: ${n0(limited.reduce((a, r) => a + r.rateLimited, 0))} answers were 429 RATE_LIMITED, in ${limited.map((r) => `${r.scenario}/${r.mode} (${n0(r.rateLimited)})`).join(", ")}: ` +
          "those runs measured the edge's limiter too; their rates and latencies are not the booking path's",
  );
  const withPatients = report.runs.filter((r) => r.patientLoad.patients > 0);
  if (withPatients.length > 0) {
    const busiest = withPatients.reduce((a, r) => (r.patientLoad.busiest > a.patientLoad.busiest ? r : a));
    lines.push(
      `patients: ${n0(report.meta.patients)} with their own tokens; the busiest made ${busiest.patientLoad.busiest} requests in one run ` +
        `(${busiest.scenario}/${busiest.mode}, ${busiest.seconds} s)`,
    );
  }

  const edgeSpread = report.runs.find((r) => r.scenario === "spread" && r.mode === "edge");
  if (edgeSpread) {
    const [low, high] = DESIGN_CLAIM.bookingsPerS;
    lines.push(
      "",
      `design claim (section 10.1): ${low}-${high} bookings/s, p99 ${DESIGN_CLAIM.p99Ms[0]}-${DESIGN_CLAIM.p99Ms[1]} ms; ` +
        `edge spread: ${n0(edgeSpread.bookingsPerS)} bookings/s = ${(edgeSpread.bookingsPerS / high).toFixed(1)}x-${(edgeSpread.bookingsPerS / low).toFixed(1)}x, ` +
        `p99 ${ms(edgeSpread.latency.p99)} ms (goal: > 20x, i.e. > ${20 * high}/s)`,
    );
  }
  return lines.join("\n");
}

export function writeJson(report: BenchmarkReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "result.json");
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/**
 * The chart comes from matplotlib in a venv the harness creates once under the cache dir (PyPI
 * is the only source it needs). Any failure is returned as a message; the JSON stands alone.
 */
export function writeChart(jsonFile: string, dir: string, log: (line: string) => void): { chart?: string; error?: string } {
  const cacheDir = process.env.CLINIC_CACHE_DIR ?? path.join(os.homedir(), ".cache", "clinic");
  const venv = path.join(cacheDir, "loadtest-venv");
  const python = path.join(venv, "bin", "python");
  const script = path.resolve(__dirname, "..", "chart", "chart.py");
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
  if (!existsSync(python)) {
    log(`chart: creating a Python venv in ${venv}`);
    const made = run("python3", ["-m", "venv", venv]);
    if (made.status !== 0) return { error: `python3 -m venv failed: ${(made.stderr || made.error?.message || "").trim()}` };
  }
  if (run(python, ["-c", "import matplotlib"]).status !== 0) {
    log("chart: installing matplotlib into the venv (once)");
    const pip = run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "matplotlib"]);
    if (pip.status !== 0) return { error: `pip install matplotlib failed: ${(pip.stderr || pip.error?.message || "").trim().split("\n").slice(-3).join(" ")}` };
  }
  const chart = path.join(dir, "chart.png");
  const drawn = run(python, [script, jsonFile, chart]);
  if (drawn.status !== 0) return { error: `chart.py failed: ${(drawn.stderr || drawn.error?.message || "").trim().split("\n").slice(-3).join(" ")}` };
  return { chart };
}
