import { ConfigError } from "@clinic/platform/config";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import type { Pool } from "pg";
import { loadStackConfig, pgSettings } from "./config";
import { CpuSampler } from "./cpu";
import { openPool, outboxBacklog, shardPools } from "./databases";
import { BaselineTarget, setUpBaseline } from "./modes/baseline";
import { EdgeTarget } from "./modes/edge";
import { GrpcTarget } from "./modes/grpc";
import { findPgbench } from "./modes/pgbench";
import type { Target } from "./modes/target";
import { parseOptions, usage, UsageError, type ModeName, type Options } from "./options";
import { PatientPool } from "./patients";
import { hostInfo, renderTables, writeChart, writeJson, type BenchmarkReport, type RunResult } from "./report";
import { addRatios, runPgbenchMode, runTargetMode, type RunnerDeps } from "./runner";
import { book, type ScenarioContext } from "./scenarios/common";
import { preparePgbenchSlots, seed } from "./seed";
import { Recorder, type AcknowledgedBooking } from "./stats";
import { checkPatientToken, signInAdmin, signOut, TokenMinter } from "./tokens";

// The harness's output is its product: console is the right sink here, not a logger.
/* eslint-disable no-console */
const print = (line: string): void => console.log(line);
const repoRoot = path.resolve(__dirname, "..", "..");

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Lets the previous run's aftermath finish before the next run starts: the outbox relay
 * publishing to Kafka, then the notifier sending an e-mail per event (it shares these cores), so
 * one mode's backlog does not eat the next mode's CPU. Bounded: a backlog that never drains is
 * reported and the run goes on.
 */
async function settle(shards: Pool[], cpu: CpuSampler): Promise<void> {
  const deadline = Date.now() + 120_000;
  let backlog = await outboxBacklog(shards);
  if (backlog > 0) print(`  settle: waiting for ${backlog} outbox events to reach Kafka`);
  while (backlog > 0 && Date.now() < deadline) {
    await sleep(250);
    backlog = await outboxBacklog(shards);
  }
  if (!cpu.available) {
    await sleep(1000);
    return;
  }
  // An idle stack still polls (relays, sweepers, consumers): a few percent per service. The
  // notifier well above that is working off the e-mails of the last run.
  const busy = (u: Record<string, number>) => u.notifier ?? 0;
  let announced = false;
  while (Date.now() < deadline) {
    const before = cpu.sample();
    await sleep(1000);
    const used = busy(CpuSampler.usage(before, cpu.sample(), 1));
    if (used < 10) return;
    if (!announced) print(`  settle: waiting for the stack to go idle (notifier at ${used.toFixed(0)}% CPU, catching up)`);
    announced = true;
  }
  print("  settle: the stack did not go idle within 120 s; going on");
}

/** A second of bookings per API mode before measuring: JIT, pools and caches warm up. */
async function warmUp(target: Target, ctx: Omit<ScenarioContext, "target" | "recorder">): Promise<AcknowledgedBooking[]> {
  const recorder = new Recorder();
  const end = performance.now() + 1000;
  const c = { ...ctx, target, recorder };
  await Promise.all(
    Array.from({ length: Math.min(16, ctx.options.concurrency) }, async () => {
      while (performance.now() < end) await book(c, ctx.slots[Math.floor(Math.random() * ctx.slots.length)]!);
    }),
  );
  return [...recorder.bookings.values()];
}

function postgresVersion(binary: string | undefined): string | undefined {
  if (!binary) return undefined;
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return out.status === 0 ? out.stdout.trim().replace(/^pgbench \(PostgreSQL\) /, "PostgreSQL ") : undefined;
}

async function benchmark(options: Options): Promise<number> {
  const config = loadStackConfig();
  const pg = pgSettings(config);
  const databases = config.CLINIC_DB_BOOKING_SHARDS;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const outDir = path.resolve(options.outDir ?? path.join(repoRoot, "loadtest", "results", stamp));
  const started = performance.now();
  const loadAtStart = os.loadavg();

  const pgbenchBinary = options.modes.includes("pgbench") ? findPgbench(config.PGBENCH) : undefined;
  if (options.modes.includes("pgbench") && !pgbenchBinary) {
    throw new Error("pgbench not found (looked at $PGBENCH, pg_config --bindir, /usr/lib/postgresql/*/bin, PATH); install PostgreSQL's client tools or pass --modes a,b,c");
  }

  const shards = shardPools(pg, databases);
  const edge = new EdgeTarget(config.EDGE_URL, Math.max(options.concurrency, options.hotClients) + 16);
  const closers: (() => Promise<void>)[] = [() => edge.close(), ...shards.map((p) => () => p.end())];
  try {
    if (loadAtStart[0]! > os.availableParallelism()) {
      print(`loadtest: warning: load average ${loadAtStart[0]!.toFixed(1)} on ${os.availableParallelism()} cores: other work competes for the CPU, numbers will be low`);
    }
    print(`loadtest: stack ${config.EDGE_URL}, booking ${config.BOOKING_ADDR}, ${databases.length} shards; results in ${outDir}`);
    const admin = await signInAdmin(edge, config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
    closers.push(() => signOut(edge, admin));
    const minter = await TokenMinter.fromEdgeDatabase(pg, config.CLINIC_DB_EDGE, admin.settings);
    print(
      `auth: ${config.ADMIN_EMAIL} signed in (POST /auth/token) to seed; patients and doctors get tokens minted with the edge's ` +
        `active key ${minter.kid} from ${config.CLINIC_DB_EDGE} (iss ${admin.settings.issuer}, aud ${admin.settings.audience})`,
    );
    const dataset = await seed(edge, options, databases.length, { admin: admin.authorization, minter }, print);
    let pgbenchShard = dataset.pgbenchShard;
    if (options.modes.includes("pgbench")) pgbenchShard = await preparePgbenchSlots(edge, shards, dataset.byMode.pgbench, dataset.doctors);

    const mintStarted = performance.now();
    // pgbench alone makes no API requests: one patient is enough for the token check.
    const patients = new PatientPool(await minter.patients(options.modes.some((m) => m !== "pgbench") ? options.patients : 1));
    const probe = await checkPatientToken(edge, patients.patients[0]!);
    print(
      `patients: ${patients.size} tokens minted in ${((performance.now() - mintStarted) / 1000).toFixed(1)} s, before any timed run; ` +
        `the edge and the booking service accept them; the edge's per-account limit: ${probe.accountPolicy ?? "not stated"}`,
    );

    let baselinePool: Pool | undefined;
    if (options.modes.includes("baseline")) {
      baselinePool = openPool(pg, databases[pgbenchShard]!, options.baselinePool, "loadtest-seed-baseline");
      const pool = baselinePool;
      closers.push(() => pool.end());
      await setUpBaseline(pool, dataset.doctors, dataset.slots);
      print(`seed baseline: schema seed_baseline in ${databases[pgbenchShard]} with ${dataset.slots.length} slots, pool of ${options.baselinePool}`);
    }

    const targets: Partial<Record<Exclude<ModeName, "pgbench">, Target>> = {};
    if (options.modes.includes("edge")) targets.edge = edge;
    if (options.modes.includes("grpc")) {
      const grpc = new GrpcTarget({ booking: config.BOOKING_ADDR, doctor: config.DOCTOR_ADDR, slot: config.SLOT_ADDR });
      targets.grpc = grpc;
      closers.push(() => grpc.close());
    }
    if (baselinePool) targets.baseline = new BaselineTarget(baselinePool);

    const cpu = new CpuSampler(config.CLINIC_STATE_DIR);
    const deps: RunnerDeps = {
      options,
      patients,
      dataset,
      shards,
      pg,
      shardDatabases: databases,
      pgbenchShard,
      cpu,
      outDir,
      print,
      ...(baselinePool ? { baselinePool } : {}),
      ...(pgbenchBinary ? { pgbenchBinary } : {}),
      ...(config.PGBOUNCER_ADDR ? { pgbouncerAddr: config.PGBOUNCER_ADDR } : {}),
    };

    const warmupAcks = new Map<ModeName, AcknowledgedBooking[]>();
    if (!options.quick && options.scenarios.includes("spread")) {
      for (const [mode, target] of Object.entries(targets) as [Exclude<ModeName, "pgbench">, Target][]) {
        warmupAcks.set(mode, await warmUp(target, { slots: dataset.byMode[mode].spread, doctors: dataset.doctors, options, patients }));
      }
      print("warm-up done (1 s of bookings per mode, on the spread slots; verified with them)");
    }

    const runs: RunResult[] = [];
    for (const scenario of options.scenarios) {
      for (const mode of options.modes) {
        if (options.settle) await settle(shards, cpu);
        print(`${scenario}/${mode}: ${scenario === "hot" ? `${options.hotClients} clients per hot slot` : `${options.concurrency} clients`}, ${options.durationS} s`);
        const run =
          mode === "pgbench"
            ? await runPgbenchMode(deps, scenario)
            : await runTargetMode(deps, scenario, mode, targets[mode]!, scenario === "spread" ? (warmupAcks.get(mode) ?? []) : []);
        if (run.bookings === 0) {
          run.verification.ok = false;
          run.verification.violations.push("no booking succeeded: nothing was measured");
          run.violationsFailRun = true;
        }
        const v = run.verification;
        print(
          `  -> ${Math.round(run.requestsPerS)} req/s, ${Math.round(run.bookingsPerS)} bookings/s, p99 ${run.latency.p99.toFixed(1)} ms; ` +
            `check ${v.ok ? "ok" : run.violationsFailRun ? "FAILED" : "violations (baseline: reported only)"} (${v.checked})`,
        );
        for (const line of [...v.violations, ...v.warnings.map((w) => `warning: ${w}`)]) print(`     ${line}`);
        runs.push(run);
      }
    }
    addRatios(runs);

    const failed = runs.filter((r) => !r.verification.ok && r.violationsFailRun);
    const report: BenchmarkReport = {
      meta: {
        date: new Date().toISOString(),
        runId: dataset.runId,
        command: `loadtest/run ${process.argv.slice(2).join(" ")}`.trim(),
        host: hostInfo(postgresVersion(pgbenchBinary)),
        loadAverage: { start: loadAtStart, end: os.loadavg() },
        options,
        stack: {
          edge: config.EDGE_URL,
          booking: config.BOOKING_ADDR,
          pgbenchShard: databases[pgbenchShard]!,
          shards: databases.length,
        },
        designClaim: { bookingsPerS: [50, 100], p99Ms: [300, 500] },
        patients: patients.size,
        auth: {
          admin: config.ADMIN_EMAIL,
          signingKid: minter.kid,
          issuer: admin.settings.issuer,
          audience: admin.settings.audience,
          ...(probe.accountPolicy ? { accountRateLimitPolicy: probe.accountPolicy } : {}),
        },
      },
      runs,
      ok: failed.length === 0,
      files: { json: path.join(outDir, "result.json") },
    };
    print(renderTables(report));
    writeJson(report, outDir);
    if (options.chart) {
      const chart = writeChart(report.files.json, outDir, print);
      if (chart.chart) report.files.chart = chart.chart;
      if (chart.error) {
        report.files.chartError = chart.error;
        print(`chart: NOT written (${chart.error}); the JSON has every number`);
      }
      writeJson(report, outDir);
    }
    print("");
    print(`results: ${report.files.json}${report.files.chart ? `, ${report.files.chart}` : ""}`);
    const baselineViolations = runs.filter((r) => r.mode === "baseline" && !r.verification.ok);
    print(`overbooking / consistency: ${failed.length === 0 ? "none in any mode" : `FAILED in ${failed.map((r) => `${r.scenario}/${r.mode}`).join(", ")}`}` +
      (baselineViolations.length > 0 ? `; seed baseline violations in ${baselineViolations.map((r) => r.scenario).join(", ")} (reported, not fatal)` : ""));
    print(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  let options: Options | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`loadtest: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  }
  if (options === "help") {
    console.log(usage);
    return;
  }
  try {
    process.exitCode = await benchmark(options);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`loadtest: ${err.message}\nRun it through loadtest/run, or export the stack's settings first: set -a; . "$CLINIC_STATE_DIR/stack.env"; set +a`);
      process.exitCode = 78;
      return;
    }
    if (err instanceof UsageError) {
      console.error(`loadtest: ${err.message}\n${usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(`loadtest: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  }
}

void main();
