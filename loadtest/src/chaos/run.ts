import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { env, parseConfig } from "@clinic/platform/config";
import { TOPICS } from "@clinic/platform/kafka";
import { z } from "zod";
import { pgSettings, tokenSchema } from "../config";
import { openPool, roundRobinShardOf } from "../databases";
import { EdgeTarget } from "../modes/edge";
import { signInAdmin, TokenMinter } from "../tokens";
import { StackFaults } from "./faults";
import { type Acknowledged, BookingLoad, type ChaosSlot } from "./load";
import { withResults } from "./readme-results";
import { clusterHealthy, SCENARIOS, type Scenario, type ScenarioLimits } from "./scenarios";
import { checkEvents, checkNotifications, checkShard, type EventCheck, type NotificationCheck, waitForOutbox } from "./verify";

// The suite's output is its product: console is the right sink here, not a logger.
/* eslint-disable no-console */
const print = (line: string): void => console.log(line);
const repoRoot = path.resolve(__dirname, "..", "..", "..");
const defaultResults = path.join(repoRoot, "chaos", "results");

const USAGE = `usage: chaos/run [--scenarios 1,2,3,4,5,6] [--shard N] [--clients N] [--results DIR]
  Runs each failure scenario under booking load through the edge, then checks the databases and
  Kafka: no overbooking, every acknowledged booking found, none twice, every event in Kafka.`;

/**
 * Scenario 4's default bound: Patroni's HA loop runs every loop_wait (2 s, scripts/stack.d/patroni.sh),
 * so the primary notices its synchronous standby is gone within 2 s and names the other replica;
 * one more second covers that loop's own work on a busy 2-core machine. More means a missed loop.
 */
const SYNC_STANDBY_LOSS_MAX_OUTAGE_S = 3;
/** How long the notifier may take, after the last scenario, to handle every confirmation. */
const NOTIFIER_CATCH_UP_MS = 180_000;
/** Scenario 6: the issue's promise, the edge serving within a second of booking's health check. */
const SERVING_AFTER_HEALTHY_MS = 1_000;

/** The stack's settings (its stack.env), as the load test reads them, plus the shards and Kafka. */
const configSchema = tokenSchema.extend({
  CLINIC_DB_BOOKING_SHARDS: env.list(),
  KAFKA_BROKERS: env.list(),
  CLINIC_STATE_DIR: z.string(),
  CLINIC_PATRONI_TTL: env.positiveInt().default(8),
  BOOKING_ADDR: z.string(),
  CLINIC_DB_NOTIFIER: z.string(),
  /** Scenario 1's goal for the write outage after the primary dies (the design asks under 30 s). */
  CLINIC_CHAOS_RTO_GOAL_S: env.positiveInt().default(10),
  /** Scenario 4: writes may fail or stall this long while Patroni replaces the synchronous standby. */
  CLINIC_CHAOS_SYNC_LOSS_MAX_OUTAGE_S: z.coerce.number().positive().default(SYNC_STANDBY_LOSS_MAX_OUTAGE_S),
});

interface Row {
  scenario: string;
  rtoS: string;
  failedBefore: number;
  failedAfter: number;
  acknowledged: number;
  found: number;
  overbooked: number;
  duplicates: number;
  otherShardsFailed: number;
  notes: string;
  violations: string[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenarios: { type: "string", default: "1,2,3,4,5,6" },
      shard: { type: "string", default: "0" },
      clients: { type: "string", default: "12" },
      results: { type: "string", default: defaultResults },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return 0;
  }
  const wanted = values.scenarios.split(",").map(Number);
  const scenarios = wanted.map((id) => SCENARIOS.find((s) => s.id === id) ?? fail(`unknown scenario ${id}\n${USAGE}`));
  const shard = Number(values.shard);
  const config = parseConfig(configSchema, process.env);
  const shardCount = config.CLINIC_DB_BOOKING_SHARDS.length;
  if (!(shard >= 0 && shard < shardCount)) fail(`--shard must be 0..${shardCount - 1}`);
  const pg = pgSettings({ ...config });
  const faults = new StackFaults(config.CLINIC_STATE_DIR);
  const primaries = config.CLINIC_DB_BOOKING_SHARDS.map((entry, i) => openPool(pg, entry, 2, `chaos-verify-${i}`));
  const edge = new EdgeTarget(config.EDGE_URL, Number(values.clients) + 4);

  print(`chaos: ${shardCount} shard(s), faults on shard ${shard} (members ${faults.membersOf(shard).length}), ${values.clients} clients`);
  for (let s = 0; s < shardCount; s++) await clusterHealthy({ faults, shard: s }, 60_000);
  for (const pool of primaries) await pool.query("CREATE TABLE IF NOT EXISTS chaos_probe (marker text NOT NULL)");

  const admin = await signInAdmin(edge, config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
  const minter = await TokenMinter.fromEdgeDatabase(pg, config.CLINIC_DB_EDGE, admin.settings);
  const patients = await minter.patients(400);
  // One doctor per shard, so every shard carries load and "the other shards" can be watched.
  const doctors: { id: string; shard: number }[] = [];
  for (let tries = 0; doctors.length < shardCount && tries < 200; tries++) {
    const d = await edge.request<{ id: string }>("POST", "/doctors", { name: `Dr. Chaos ${tries}`, specialization: "resilience" }, admin.authorization);
    const s = roundRobinShardOf(d.id, shardCount);
    if (!doctors.some((x) => x.shard === s)) doctors.push({ id: d.id, shard: s });
  }
  const startedAt = new Date();
  const rows: Row[] = [];
  /** Every booking acknowledged to a client in the whole run: each one's events are checked at the end. */
  const acknowledged: Acknowledged[] = [];
  let slotDay = 2;

  for (const scenario of scenarios) {
    // Fresh slots per scenario: its bookings and checks are its own.
    const slots: ChaosSlot[] = [];
    for (const doctor of doctors) {
      const base = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + slotDay, 6);
      for (let i = 0; i < 30; i++) {
        const start = new Date(base + i * 30 * 60_000);
        const slot = await edge.request<{ id: string }>(
          "POST",
          `/doctors/${doctor.id}/slots`,
          { startTime: start.toISOString(), endTime: new Date(start.getTime() + 30 * 60_000).toISOString(), capacity: 8 },
          admin.authorization,
        );
        slots.push({ id: slot.id, shard: doctor.shard });
      }
    }
    slotDay += 1;
    const limits = {
      rtoGoalMs: config.CLINIC_CHAOS_RTO_GOAL_S * 1_000,
      syncLossMaxOutageMs: config.CLINIC_CHAOS_SYNC_LOSS_MAX_OUTAGE_S * 1_000,
      servingAfterHealthyMs: SERVING_AFTER_HEALTHY_MS,
    };
    rows.push(
      await runScenario(scenario, {
        faults, shard, slots, patients, edge, clients: Number(values.clients), pg, ttl: config.CLINIC_PATRONI_TTL, primaries, limits, bookingAddress: config.BOOKING_ADDR, acknowledged,
      }),
    );
  }

  print("chaos: waiting for every shard's outbox to reach Kafka");
  const backlog = await waitForOutbox(primaries, 120_000);
  const { events: committedEvents, ...events } = await checkEvents(primaries, config.KAFKA_BROKERS, TOPICS.bookingEvents, startedAt, acknowledged);
  print("chaos: waiting for the notifier to handle every confirmed booking");
  const notifierPool = openPool(pg, config.CLINIC_DB_NOTIFIER, 2, "chaos-verify-notifier");
  const notifications = await checkNotifications(
    notifierPool,
    path.join(config.CLINIC_STATE_DIR, "logs", "sinks.log"),
    committedEvents,
    acknowledged,
    NOTIFIER_CATCH_UP_MS,
  );
  await notifierPool.end();
  const eventViolations = [
    ...(backlog > 0 ? [`${backlog} outbox events still unpublished after 120 s`] : []),
    ...(events.missing > 0 ? [`${events.missing} of ${events.committed} committed events never reached Kafka`] : []),
    ...(events.payloadMismatches > 0 ? [`${events.payloadMismatches} copies in Kafka differ from the event the outbox committed`] : []),
    ...(events.acknowledgedWithoutEvent.length > 0
      ? [`${events.acknowledgedWithoutEvent.length} acknowledged booking(s) without their booking.created in Kafka, e.g. ${events.acknowledgedWithoutEvent[0]}`]
      : []),
    ...(notifications.unhandled.length > 0
      ? [`${notifications.unhandled.length} of ${notifications.expected} confirmations not handled by the notifier within ${NOTIFIER_CATCH_UP_MS / 1000} s, e.g. event ${notifications.unhandled[0]}`]
      : []),
    ...(notifications.deliveredTwice.length > 0 ? [`${notifications.deliveredTwice.length} notification(s) delivered more than once, e.g. event ${notifications.deliveredTwice[0]}`] : []),
    ...(notifications.sentButNotDelivered.length > 0
      ? [`${notifications.sentButNotDelivered.length} notification(s) marked sent that the mail sink never received, e.g. event ${notifications.sentButNotDelivered[0]}`]
      : []),
  ];
  for (const pool of primaries) await pool.end();

  const table = render(rows, events, notifications, eventViolations);
  print("");
  print(table);
  mkdirSync(values.results, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  writeFileSync(path.join(values.results, `chaos-${stamp}.md`), `${table}\n`);
  writeFileSync(path.join(values.results, `chaos-${stamp}.json`), `${JSON.stringify({ startedAt, shardCount, shard, rows, events, notifications }, null, 2)}\n`);
  writeFileSync(path.join(values.results, "latest.md"), `${table}\n`);
  // A full run into chaos/results/ is the one the README reports; a quick run (npm test) is not.
  if (path.resolve(values.results) === defaultResults) {
    const readme = path.join(repoRoot, "README.md");
    writeFileSync(readme, withResults(readFileSync(readme, "utf8"), `${table}\n`));
    print("chaos: README.md's results table updated from chaos/results/latest.md");
  }
  const violations = [...rows.flatMap((r) => r.violations.map((v) => `${r.scenario}: ${v}`)), ...eventViolations];
  if (violations.length > 0) {
    print(`chaos: ${violations.length} violation(s):`);
    for (const v of violations) print(`  - ${v}`);
    return 1;
  }
  print("chaos: every scenario held: no overbooking, every acknowledged booking found, none twice, every event in Kafka");
  return 0;
}

interface RunDeps {
  faults: StackFaults;
  shard: number;
  slots: ChaosSlot[];
  patients: Awaited<ReturnType<TokenMinter["patients"]>>;
  edge: EdgeTarget;
  clients: number;
  pg: ReturnType<typeof pgSettings>;
  ttl: number;
  primaries: ReturnType<typeof openPool>[];
  limits: ScenarioLimits;
  bookingAddress: string;
  acknowledged: Acknowledged[];
}

async function runScenario(scenario: Scenario, deps: RunDeps): Promise<Row> {
  print(`chaos: scenario ${scenario.id}: ${scenario.name}`);
  const load = new BookingLoad({ edge: deps.edge, patients: deps.patients, slots: deps.slots, clients: deps.clients, retryBudgetMs: 60_000 });
  load.start();
  await new Promise((r) => setTimeout(r, 3_000));
  let facts: Awaited<ReturnType<Scenario["run"]>>;
  try {
    facts = await scenario.run({ faults: deps.faults, shard: deps.shard, record: () => load.record, pg: deps.pg, log: print, ttlSeconds: deps.ttl, limits: deps.limits, bookingAddress: deps.bookingAddress });
  } catch (err) {
    facts = { notes: [], violations: [`the scenario did not complete: ${(err as Error).message}`] };
  }
  const record = await load.stop();
  deps.acknowledged.push(...record.acknowledged);
  // Whatever was killed comes back (a dead member rejoins through pg_rewind), before the checks.
  await deps.faults.stackUp("etcd", "patroni", "haproxy", "booking");
  for (let s = 0; s < deps.primaries.length; s++) await clusterHealthy({ faults: deps.faults, shard: s });

  const violations = [...facts.violations];
  let found = 0;
  let overbooked = 0;
  let duplicates = 0;
  for (let s = 0; s < deps.primaries.length; s++) {
    const check = await checkShard(deps.primaries[s]!, record.acknowledged.filter((a) => a.shard === s));
    found += check.found;
    overbooked += check.overbookedSlots;
    duplicates += check.duplicates;
    if (check.overbookedSlots > 0) violations.push(`shard ${s}: ${check.overbookedSlots} overbooked slot(s)`);
    if (check.heldMismatches > 0) violations.push(`shard ${s}: ${check.heldMismatches} slot(s) whose held count differs from their active bookings`);
    if (check.missing.length > 0) violations.push(`shard ${s}: ${check.missing.length} acknowledged booking(s) missing, e.g. ${check.missing[0]}`);
    if (check.duplicates > 0) violations.push(`shard ${s}: ${check.duplicates} patient/slot pair(s) booked twice`);
  }
  if (record.unexpected.length > 0) violations.push(`${record.unexpected.length} unexpected answer(s), e.g. ${record.unexpected[0]}`);
  const failedAfter = record.failedAfterRetries();
  if (scenario.noFailuresAfterRetries && failedAfter > 0) violations.push(`${failedAfter} booking(s) failed after 60 s of retries`);
  // A database fault of one shard must not touch the others (the booking service's own outage does).
  let otherShardsFailed = 0;
  for (let s = 0; s < deps.primaries.length; s++) if (s !== deps.shard) otherShardsFailed += record.failedBeforeRetries(s);
  if (scenario.id !== 6 && otherShardsFailed > 0) violations.push(`${otherShardsFailed} failed answer(s) on shards without a fault`);
  if (record.acknowledged.length === 0) violations.push("no booking was acknowledged: the load did not run");

  const row: Row = {
    scenario: `${scenario.id}. ${scenario.name}`,
    rtoS: facts.rtoMs === undefined ? "-" : (facts.rtoMs / 1000).toFixed(1),
    failedBefore: record.failedBeforeRetries(),
    failedAfter,
    acknowledged: record.acknowledged.length,
    found,
    overbooked,
    duplicates,
    otherShardsFailed,
    notes: facts.notes.join("; "),
    violations,
  };
  print(`  write outage ${row.rtoS} s, ${row.failedBefore} failed answers before retries, ${row.failedAfter} after, ` +
    `${row.found}/${row.acknowledged} acknowledged found, ${row.overbooked} overbooked${violations.length ? `, VIOLATIONS: ${violations.join("; ")}` : ""}`);
  return row;
}

function render(rows: Row[], events: EventCheck, notifications: NotificationCheck, eventViolations: string[]): string {
  const lines = [
    "| scenario | write outage (RTO) | failed before retries | failed after retries | acknowledged / found | overbooked slots | booked twice | other shards failed | held |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.rtoS} s | ${r.failedBefore} | ${r.failedAfter} | ${r.acknowledged} / ${r.found} | ${r.overbooked} | ${r.duplicates} | ${r.otherShardsFailed} | ${r.violations.length === 0 ? "yes" : `NO: ${r.violations.join("; ")}`} |`,
    ),
    "",
    `Events: ${events.committed} committed in the shards' outboxes during the run, ${events.missing} missing from Kafka, ` +
      `${events.duplicates} extra copies (at-least-once delivery), ${events.payloadMismatches} copies differing from the committed event; ` +
      `every acknowledged booking's booking.created in Kafka: ${events.acknowledgedWithoutEvent.length === 0 ? "yes" : `NO (${events.acknowledgedWithoutEvent.length} missing)`}. ` +
      `Notifier: ${notifications.handled} of ${notifications.expected} confirmations handled, ${notifications.deliveredTwice.length} e-mailed twice, ` +
      `${notifications.duplicatesSkipped} redeliveries skipped by event id${eventViolations.length ? `; VIOLATIONS: ${eventViolations.join("; ")}` : ""}.`,
    "",
    ...rows.filter((r) => r.notes).map((r) => `- ${r.scenario}: ${r.notes}`),
  ];
  return lines.join("\n");
}

function fail(message: string): never {
  throw new UsageError(message);
}

class UsageError extends Error {}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exit(2);
  },
);
