import { Client } from "pg";
import type { PgSettings } from "../config";
import type { StackFaults } from "./faults";
import { firstServing } from "./health-poll";
import type { LoadRecord } from "./load";

/** What a scenario found out besides the load's own numbers. */
export interface ScenarioFacts {
  /** Measured write outage of the shard under test (ms), when the scenario measures one. */
  rtoMs?: number;
  notes: string[];
  violations: string[];
}

export interface ScenarioContext {
  faults: StackFaults;
  shard: number;
  /** The load runs for the whole scenario; its record so far. */
  record: () => LoadRecord;
  pg: PgSettings;
  log: (line: string) => void;
  /** Seconds of the leader key's lifetime (CLINIC_PATRONI_TTL). */
  ttlSeconds: number;
  limits: ScenarioLimits;
  /** "host:port" of the booking service's gRPC server (its health check). */
  bookingAddress: string;
}

/** The bounds the scenarios hold the platform to (chaos/run reads them from the environment). */
export interface ScenarioLimits {
  /** Scenario 1: the longest acceptable write outage after the primary dies (CLINIC_CHAOS_RTO_GOAL_S). */
  rtoGoalMs: number;
  /**
   * Scenario 4: the longest acceptable write outage, failed or stalled, after the synchronous
   * standby dies (CLINIC_CHAOS_SYNC_LOSS_MAX_OUTAGE_S). Commits wait for the lost standby until
   * the primary's Patroni notices at its next HA loop (loop_wait, 2 s) and names the other
   * replica synchronous.
   */
  syncLossMaxOutageMs: number;
  /** Scenario 6: the edge serves bookings within this long of booking's health check passing. */
  servingAfterHealthyMs: number;
}

export interface Scenario {
  id: number;
  name: string;
  /** Whether a failed booking after retries breaks the scenario's promise. */
  noFailuresAfterRetries: boolean;
  run(ctx: ScenarioContext): Promise<ScenarioFacts>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

async function leaderOf(ctx: ScenarioContext): Promise<number> {
  return until(`a leader of shard ${ctx.shard}`, 60_000, () => ctx.faults.withRole(ctx.shard, "leader"));
}

async function newPrimary(ctx: ScenarioContext, old: number): Promise<number> {
  return until(`a new primary of shard ${ctx.shard}`, 90_000, async () => {
    for (const m of ctx.faults.membersOf(ctx.shard)) if (m !== old && (await ctx.faults.isPrimary(ctx.shard, m))) return m;
    return undefined;
  });
}

/** After the fault: writes of the shard succeed again, then a few more seconds of load. */
async function writesRecovered(ctx: ScenarioContext, since: number, tailMs = 5_000): Promise<void> {
  await until(`a booking on shard ${ctx.shard} to succeed`, 90_000, async () =>
    (ctx.record().answers.get(ctx.shard) ?? []).some((a) => a.ok && a.at > since) ? true : undefined,
  );
  await sleep(tailMs);
}

/** The whole cluster back: every member running, a leader and a streaming synchronous standby. */
export async function clusterHealthy(ctx: Pick<ScenarioContext, "faults" | "shard">, timeoutMs = 120_000): Promise<void> {
  const expected = ctx.faults.membersOf(ctx.shard).length;
  await until(`shard ${ctx.shard} to have ${expected} running members`, timeoutMs, async () => {
    try {
      const members = await ctx.faults.cluster(ctx.shard);
      const running = members.filter((m) => m.state === "running" || m.state === "streaming");
      const leader = running.some((m) => m.role === "leader");
      const sync = expected === 1 || running.some((m) => m.role === "sync_standby");
      const sameTimeline = new Set(running.map((m) => m.timeline)).size === 1;
      return running.length === expected && leader && sync && sameTimeline ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

/**
 * A write straight to a member's PostgreSQL, bypassing HAProxy, as a client that still had the
 * old address would send it. Answers whether the write was acknowledged within `timeoutMs`.
 */
async function directWriteAcknowledged(pg: PgSettings, port: number, database: string, marker: string, timeoutMs: number): Promise<boolean> {
  const client = new Client({ ...pg, host: "127.0.0.1", port, database, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A server that hangs up on us is an answer too ("not accepted"), not a crash of the harness.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("INSERT INTO chaos_probe (marker) VALUES ($1)", [marker]);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const secondsSince = (at: number): string => ((performance.now() - at) / 1000).toFixed(1);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/** The shard's leader and its timeline, as the cluster reports them. */
async function leadership(ctx: ScenarioContext): Promise<{ leader: string; timeline: number | undefined }> {
  const members = await ctx.faults.cluster(ctx.shard);
  const leader = members.find((m) => m.role === "leader");
  if (!leader) throw new Error(`shard ${ctx.shard} has no leader: ${JSON.stringify(members)}`);
  return { leader: leader.name, timeline: leader.timeline };
}

const syncStandbyOf = (ctx: ScenarioContext): Promise<number> =>
  until("a synchronous standby", 30_000, () => ctx.faults.withRole(ctx.shard, "sync_standby"));

/**
 * The primary lost to a signal: sends it to the shard's leader, says what was done (`done` gets the
 * member's name and the pids signalled), and waits until another member is promoted.
 */
async function primaryLost(
  ctx: ScenarioContext,
  signal: NodeJS.Signals,
  done: (member: string, pids: number[]) => string,
): Promise<{ leader: number; promoted: number; at: number }> {
  const leader = await leaderOf(ctx);
  const at = performance.now();
  const pids = ctx.faults.signal(ctx.shard, leader, signal);
  ctx.log(`    ${done(ctx.faults.memberName(ctx.shard, leader), pids)}`);
  const promoted = await newPrimary(ctx, leader);
  ctx.log(`    ${ctx.faults.memberName(ctx.shard, promoted)} promoted after ${secondsSince(at)} s`);
  return { leader, promoted, at };
}

/** The facts of a scenario: the shard's measured write outage, and what it noted and found broken. */
const facts = (ctx: ScenarioContext, notes: string[], violations: string[] = []): ScenarioFacts => ({
  rtoMs: ctx.record().outageMs(ctx.shard),
  notes,
  violations,
});

/** A scenario whose promise, unless said otherwise, is that no booking fails after its retries. */
const scenario = (id: number, name: string, run: Scenario["run"], noFailuresAfterRetries = true): Scenario => ({
  id,
  name,
  noFailuresAfterRetries,
  run,
});

export const SCENARIOS: readonly Scenario[] = [
  scenario(1, "kill -9 of the primary", async (ctx) => {
    const { promoted, at } = await primaryLost(ctx, "SIGKILL", (member, pids) => `killed ${member} (pids ${pids.join(" ")})`);
    await writesRecovered(ctx, at);
    const rtoMs = ctx.record().outageMs(ctx.shard);
    const violations = rtoMs > ctx.limits.rtoGoalMs ? [`write outage ${seconds(rtoMs)} s exceeds the RTO goal of ${seconds(ctx.limits.rtoGoalMs)} s`] : [];
    return facts(ctx, [`${ctx.faults.memberName(ctx.shard, promoted)} promoted`], violations);
  }),
  scenario(2, "primary frozen (SIGSTOP) past the TTL, then resumed", async (ctx) => {
    const { leader, promoted, at: frozenAt } = await primaryLost(ctx, "SIGSTOP", (member) => `froze ${member}`);
    await writesRecovered(ctx, frozenAt, 1_000);
    // Resumed after the new primary took over: the old one must not take a single write.
    ctx.faults.signal(ctx.shard, leader, "SIGCONT");
    const marker = `split-brain-${Date.now()}`;
    const accepted = await directWriteAcknowledged(ctx.pg, ctx.faults.pgPort(ctx.shard, leader), `clinic_booking_${ctx.shard}`, marker, 5_000);
    const violations = accepted ? [`the old primary acknowledged a write after ${ctx.faults.memberName(ctx.shard, promoted)} was promoted`] : [];
    await writesRecovered(ctx, frozenAt, 3_000);
    // It rejoins as a replica of the new timeline (pg_rewind) by itself.
    await clusterHealthy(ctx);
    const members = await ctx.faults.cluster(ctx.shard);
    const old = members.find((m) => m.name === ctx.faults.memberName(ctx.shard, leader));
    if (!old || old.role === "leader") violations.push(`the old primary did not rejoin as a replica (${JSON.stringify(old)})`);
    // The resumed member must not have taken the leader key back from the promoted one.
    const nowLeader = members.find((m) => m.role === "leader")?.name;
    if (nowLeader !== ctx.faults.memberName(ctx.shard, promoted)) {
      violations.push(`the leader changed again after the old primary resumed (now ${nowLeader ?? "none"})`);
    }
    const client = new Client({ ...ctx.pg, host: "127.0.0.1", port: ctx.faults.pgPort(ctx.shard, promoted), database: `clinic_booking_${ctx.shard}` });
    await client.connect();
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM chaos_probe WHERE marker = $1", [marker]);
    await client.end();
    if ((rows[0]?.n ?? 0) > 0) violations.push("the write sent to the old primary is in the new primary's data");
    return facts(ctx, [`direct write to the resumed old primary: ${accepted ? "ACCEPTED" : "refused"}`, `old primary rejoined as ${old?.role ?? "?"}`], violations);
  }),
  scenario(3, "planned switchover (patronictl)", async (ctx) => {
    const leader = await leaderOf(ctx);
    const candidate = await syncStandbyOf(ctx);
    const started = performance.now();
    await ctx.faults.switchover(ctx.shard, leader, candidate);
    await until("the candidate to be primary", 60_000, async () => ((await ctx.faults.isPrimary(ctx.shard, candidate)) ? true : undefined));
    ctx.log(`    switched over to ${ctx.faults.memberName(ctx.shard, candidate)} in ${secondsSince(started)} s`);
    await writesRecovered(ctx, started);
    await clusterHealthy(ctx);
    return facts(ctx, []);
  }),
  scenario(4, "kill -9 of the synchronous standby", async (ctx) => {
    const sync = await syncStandbyOf(ctx);
    const killedAt = performance.now();
    ctx.faults.signal(ctx.shard, sync, "SIGKILL");
    ctx.log(`    killed ${ctx.faults.memberName(ctx.shard, sync)}`);
    const next = await until("another synchronous standby", 60_000, async () => {
      const m = await ctx.faults.withRole(ctx.shard, "sync_standby");
      return m !== undefined && m !== sync ? m : undefined;
    });
    ctx.log(`    ${ctx.faults.memberName(ctx.shard, next)} is the synchronous standby after ${secondsSince(killedAt)} s`);
    await writesRecovered(ctx, killedAt);
    // "Writes continue": neither failed nor stalled (commits waiting for the dead standby) for
    // longer than the limit.
    const outageMs = ctx.record().outageMs(ctx.shard);
    const pauseMs = ctx.record().longestPauseMs(ctx.shard, killedAt);
    const limit = ctx.limits.syncLossMaxOutageMs;
    const violations = [
      ...(outageMs > limit ? [`write outage ${seconds(outageMs)} s after the synchronous standby died (limit ${seconds(limit)} s)`] : []),
      ...(pauseMs > limit ? [`no write succeeded for ${seconds(pauseMs)} s after the synchronous standby died (limit ${seconds(limit)} s)`] : []),
    ];
    return facts(ctx, [`${ctx.faults.memberName(ctx.shard, next)} became synchronous`, `longest pause between successful writes ${seconds(pauseMs)} s`], violations);
  }),
  scenario(5, "etcd stopped for 30 s", async (ctx) => {
    const before = await leadership(ctx);
    const stoppedAt = performance.now();
    await ctx.faults.stackDown("etcd");
    ctx.log(`    etcd stopped (leader ${before.leader}, timeline ${before.timeline})`);
    await sleep(30_000);
    await ctx.faults.stackUp("etcd");
    ctx.log("    etcd started again");
    await writesRecovered(ctx, stoppedAt);
    await clusterHealthy(ctx);
    const after = await leadership(ctx);
    // failsafe_mode's promise is that nothing happens: not one failed write (no tolerance: the
    // primary never stops, so a failure here is a real interruption), the same leader, the same
    // timeline (no promotion, however quick).
    const failed = ctx.record().failedSince(ctx.shard, stoppedAt);
    const violations = [
      ...(failed > 0 ? [`${failed} write(s) of shard ${ctx.shard} failed while etcd was away (write outage ${seconds(ctx.record().outageMs(ctx.shard))} s)`] : []),
      ...(after.leader !== before.leader ? [`the leader changed from ${before.leader} to ${after.leader}`] : []),
      ...(after.timeline !== before.timeline ? [`the timeline changed from ${before.timeline} to ${after.timeline}`] : []),
    ];
    const pauseMs = ctx.record().longestPauseMs(ctx.shard, stoppedAt);
    return facts(
      ctx,
      [`failsafe_mode: leader ${after.leader} on timeline ${after.timeline} throughout`, `longest pause between successful writes ${seconds(pauseMs)} s`],
      violations,
    );
  }),
  // Its promise is the edge's: bookings fail while the service is down, and must be served again
  // within a second of its health check passing.
  scenario(
    6,
    "booking service killed (kill -9), down 15 s, restarted",
    async (ctx) => {
      const pid = ctx.faults.servicePid("booking");
      if (!pid) throw new Error("no booking pid in the stack's run directory");
      process.kill(pid, "SIGKILL");
      ctx.log(`    killed booking (pid ${pid})`);
      await sleep(15_000);
      const restartedAt = performance.now();
      // The moment booking is healthy is taken here, by polling its health check every 50 ms
      // from the restart on: `scripts/stack up` returns only after its own, slower, probe.
      const [healthyAt] = await Promise.all([firstServing(ctx.bookingAddress, 50, 120_000), ctx.faults.stackUp("booking")]);
      await writesRecovered(ctx, healthyAt, 3_000);
      const firstOk = Math.min(
        ...[...ctx.record().answers.values()].map((list) => list.find((a) => a.ok && a.at > restartedAt)?.at ?? Infinity),
      );
      const servingAfterMs = Math.max(0, firstOk - healthyAt);
      ctx.log(`    booking served its health check ${seconds(healthyAt - restartedAt)} s after the restart began; the edge served a booking ${servingAfterMs.toFixed(0)} ms later`);
      const limit = ctx.limits.servingAfterHealthyMs;
      return facts(
        ctx,
        [`first booking through the edge ${servingAfterMs.toFixed(0)} ms after booking answered its health check`],
        servingAfterMs > limit ? [`the edge needed ${servingAfterMs.toFixed(0)} ms (> ${limit} ms) to serve bookings again`] : [],
      );
    },
    false,
  ),
];
