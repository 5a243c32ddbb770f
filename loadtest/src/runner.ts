import { availableParallelism } from "node:os";
import * as path from "node:path";
import type { Pool } from "pg";
import type { PgSettings } from "./config";
import { CpuSampler } from "./cpu";
import { accountBookings, runPgbench } from "./modes/pgbench";
import { runPoolerCheck } from "./modes/pooler";
import type { Target } from "./modes/target";
import type { ModeName, Options, ScenarioName } from "./options";
import type { PatientPool } from "./patients";
import { cpuPerRequest, MODE_LABEL, type RunResult } from "./report";
import { runBrowseAndBook } from "./scenarios/browse-book";
import type { HotSlotResult, ScenarioContext } from "./scenarios/common";
import { runHotSlot } from "./scenarios/hot-slot";
import { runLifecycle } from "./scenarios/lifecycle";
import { runSpread } from "./scenarios/spread";
import type { Dataset } from "./seed";
import { Progress, Recorder, summarize, type AcknowledgedBooking } from "./stats";
import { verifyBaseline, verifyShards, type Verification } from "./verify";

export interface RunnerDeps {
  options: Options;
  dataset: Dataset;
  shards: Pool[];
  /** The seed baseline's pool (its tables live in the pgbench shard database). */
  baselinePool?: Pool;
  pg: PgSettings;
  shardDatabases: readonly string[];
  pgbenchShard: number;
  pgbenchBinary?: string;
  /** PgBouncer's `host:port` when the stack pools the shards (the pooler check runs then). */
  pgbouncerAddr?: string;
  cpu: CpuSampler;
  outDir: string;
  print: (line: string) => void;
  /** The simulated patients with their tokens (modes a, b, c). */
  patients: PatientPool;
}

function result(
  scenario: ScenarioName,
  mode: ModeName,
  concurrency: number,
  recorder: Recorder,
  verification: Verification,
  extra: Partial<RunResult>,
): RunResult {
  const seconds = recorder.elapsedSeconds();
  const byKind: RunResult["latencyByKind"] = {};
  for (const [kind, samples] of recorder.latencies) byKind[kind] = summarize(samples);
  const perRequest = extra.cpu ? cpuPerRequest(extra.cpu, recorder.requests / seconds, availableParallelism()) : undefined;
  return {
    ...(perRequest ? { cpuPerRequest: perRequest } : {}),
    scenario,
    mode,
    label: MODE_LABEL[mode],
    concurrency,
    seconds: Math.round(seconds * 100) / 100,
    requests: recorder.requests,
    requestsPerS: recorder.requests / seconds,
    bookings: recorder.booked,
    bookingsPerS: recorder.booked / seconds,
    latency: summarize(recorder.all()),
    latencyByKind: byKind,
    statuses: Object.fromEntries(recorder.statuses),
    nonSuccess: recorder.errors,
    rateLimited: recorder.rateLimited,
    patientLoad: recorder.patientLoad(),
    verification,
    violationsFailRun: mode !== "baseline",
    notes: [],
    ...extra,
  };
}

function hotSummary(perSlot: HotSlotResult[]): RunResult["hot"] {
  return {
    slots: perSlot.length,
    exact: perSlot.filter((h) => h.booked === h.capacity).length,
    booked: perSlot.reduce((a, h) => a + h.booked, 0),
    full: perSlot.reduce((a, h) => a + h.full, 0),
    other: perSlot.reduce((a, h) => a + h.other, 0),
    perSlot,
  };
}

/** Modes (a), (b), (c): a scenario driven in this process against a Target, then verified. */
export async function runTargetMode(
  deps: RunnerDeps,
  scenario: ScenarioName,
  mode: Exclude<ModeName, "pgbench">,
  target: Target,
  warmupAcks: readonly AcknowledgedBooking[] = [],
): Promise<RunResult> {
  const { options, dataset } = deps;
  const slots = dataset.byMode[mode][scenario];
  const recorder = new Recorder();
  const concurrency = scenario === "hot" ? options.hotClients : options.concurrency;
  const ctx: ScenarioContext = { target, slots, doctors: dataset.doctors, options, recorder, patients: deps.patients };
  const label = `${scenario}/${mode}`;
  const progress = new Progress(label, recorder, deps.print);
  progress.start();
  const before = deps.cpu.sample();
  let hot: HotSlotResult[] = [];
  try {
    switch (scenario) {
      case "spread":
        await runSpread(ctx);
        break;
      case "hot":
        hot = await runHotSlot(ctx);
        break;
      case "browse":
        await runBrowseAndBook(ctx);
        break;
      case "lifecycle":
        await runLifecycle(ctx);
        break;
    }
  } finally {
    progress.stop();
  }
  const cpu = deps.cpu.available ? CpuSampler.usage(before, deps.cpu.sample(), recorder.elapsedSeconds()) : undefined;
  // Only the hot slots a burst was fired at have inventory rows; the rest were never touched.
  const checked = scenario === "hot" ? slots.filter((s) => hot.some((h) => h.slotId === s.id)) : slots;
  const acks = [...warmupAcks, ...recorder.bookings.values()];
  const verification =
    mode === "baseline"
      ? await verifyBaseline(deps.baselinePool!, checked, acks, hot)
      : await verifyShards(deps.shards, checked, acks, hot);
  if (recorder.rateLimited > 0) {
    // Not a correctness violation, but these answers measured the edge's limiter, not booking.
    verification.warnings.unshift(
      `${recorder.rateLimited} answers were 429 RATE_LIMITED: the edge's rate limiter refused them before the booking path (see "Rate limits" in loadtest/README.md)`,
    );
  }
  return result(scenario, mode, concurrency, recorder, verification, {
    ...(scenario === "hot" ? { hot: hotSummary(hot) } : {}),
    ...(cpu ? { cpu } : {}),
  });
}

/** Mode (d): the scenario's SQL under pgbench in the pgbench shard, then the same verification. */
export async function runPgbenchMode(deps: RunnerDeps, scenario: ScenarioName): Promise<RunResult> {
  const { options, dataset } = deps;
  const slots = dataset.byMode.pgbench[scenario];
  const wanted = scenario === "hot" ? options.hotClients : options.concurrency;
  const clients = Math.min(wanted, options.pgbenchMaxClients);
  // pgbench's -T is whole seconds and includes connecting its clients (a smoke run caps them at 8).
  const seconds = Math.max(1, Math.round(options.durationS));
  const recorder = new Recorder();
  const before = deps.cpu.sample();
  const run = await runPgbench(
    deps.pgbenchBinary!,
    deps.pg,
    deps.shardDatabases[deps.pgbenchShard]!,
    { scenario, slots, clients, seconds },
    path.join(deps.outDir, "pgbench", scenario),
    recorder,
    deps.print,
    `${scenario}/pgbench`,
  );
  const cpu = deps.cpu.available ? CpuSampler.usage(before, deps.cpu.sample(), recorder.elapsedSeconds()) : undefined;

  const pool = deps.shards[deps.pgbenchShard]!;
  const { rows } = await pool.query<{ slot_id: string; total: number; active: number }>(
    `SELECT slot_id, count(*)::int AS total,
            count(*) FILTER (WHERE status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now()))::int AS active
       FROM bookings WHERE slot_id = ANY($1::uuid[]) GROUP BY slot_id`,
    [slots.map((s) => s.id)],
  );
  accountBookings(recorder, rows.reduce((a, r) => a + r.total, 0));

  let hot: HotSlotResult[] = [];
  if (scenario === "hot") {
    // pgbench picks a random hot slot per transaction: attempts per slot are the average.
    const attempts = Math.round(run.transactions / slots.length);
    hot = slots.map((s) => {
      const booked = rows.find((r) => r.slot_id === s.id)?.active ?? 0;
      return { slotId: s.id, capacity: s.capacity, attempts, booked, full: Math.max(0, attempts - booked), other: 0 };
    });
  }
  const verification = await verifyShards(deps.shards, slots, [], hot);
  const notes = [`pgbench -c ${clients}${clients < wanted ? ` (capped from ${wanted} by --pgbench-max-clients)` : ""} -j 2 -T ${seconds}`];
  if (run.exitCode !== 0 || run.abortedClients > 0 || run.failed > 0) {
    verification.ok = false;
    verification.violations.push(`pgbench exited ${run.exitCode}, ${run.abortedClients} clients aborted, ${run.failed} failed transactions: ${run.stderrTail}`);
  }
  // The pooler check after the spread run: its own pgbench, its bookings verified with the rest.
  const shardEntry = deps.shardDatabases[deps.pgbenchShard]!;
  let pooler;
  if (scenario === "spread" && deps.pgbouncerAddr && shardEntry.includes("/")) {
    pooler = await runPoolerCheck({
      pgbenchBinary: deps.pgbenchBinary!,
      pg: deps.pg,
      shardEntry,
      pgbouncerAddr: deps.pgbouncerAddr,
      plan: { scenario, slots, clients: deps.options.poolerClients, seconds },
      dir: path.join(deps.outDir, "pgbench", "pooler"),
      print: deps.print,
    });
    const checked = await verifyShards(deps.shards, slots, [], []);
    if (!checked.ok) verification.violations.push(...checked.violations.map((v) => `through PgBouncer: ${v}`));
    if (!pooler.ok) {
      verification.violations.push(
        `pooler check: ${pooler.clients} clients took ${pooler.peakServerConnections} server connections (pool ${pooler.poolSize}), ` +
          `${pooler.transactions} transactions, ${pooler.failed} failed`,
      );
    }
    verification.ok = verification.ok && checked.ok && pooler.ok;
  }
  return result(scenario, "pgbench", clients, recorder, verification, {
    ...(pooler ? { pooler } : {}),
    ...(scenario === "hot" ? { hot: hotSummary(hot) } : {}),
    ...(cpu ? { cpu } : {}),
    pgbench: run,
    notes,
  });
}

/**
 * Attaches each run's ratio to pgbench's in the same scenario: of bookings/s, except for the hot
 * slot, where bookings are capped by the seats (10 per burst) and the attempts/s are what differ.
 */
export function addRatios(runs: RunResult[]): void {
  const rate = (r: RunResult) => (r.scenario === "hot" ? r.requestsPerS : r.bookingsPerS);
  for (const r of runs) {
    const d = runs.find((x) => x.scenario === r.scenario && x.mode === "pgbench");
    if (d && rate(d) > 0) r.ratioToPgbench = rate(r) / rate(d);
  }
}

