import { Client } from "pg";
import type { PgSettings } from "../config";
import type { StackFaults } from "./faults";
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

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 1,
    name: "kill -9 of the primary",
    noFailuresAfterRetries: true,
    async run(ctx) {
      const leader = await leaderOf(ctx);
      const killedAt = performance.now();
      const pids = ctx.faults.signal(ctx.shard, leader, "SIGKILL");
      ctx.log(`    killed ${ctx.faults.memberName(ctx.shard, leader)} (pids ${pids.join(" ")})`);
      const promoted = await newPrimary(ctx, leader);
      ctx.log(`    ${ctx.faults.memberName(ctx.shard, promoted)} promoted after ${((performance.now() - killedAt) / 1000).toFixed(1)} s`);
      await writesRecovered(ctx, killedAt);
      return { rtoMs: ctx.record().outageMs(ctx.shard), notes: [`${ctx.faults.memberName(ctx.shard, promoted)} promoted`], violations: [] };
    },
  },
  {
    id: 2,
    name: "primary frozen (SIGSTOP) past the TTL, then resumed",
    noFailuresAfterRetries: true,
    async run(ctx) {
      const leader = await leaderOf(ctx);
      const frozenAt = performance.now();
      ctx.faults.signal(ctx.shard, leader, "SIGSTOP");
      ctx.log(`    froze ${ctx.faults.memberName(ctx.shard, leader)}`);
      const promoted = await newPrimary(ctx, leader);
      ctx.log(`    ${ctx.faults.memberName(ctx.shard, promoted)} promoted after ${((performance.now() - frozenAt) / 1000).toFixed(1)} s`);
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
      return {
        rtoMs: ctx.record().outageMs(ctx.shard),
        notes: [`direct write to the resumed old primary: ${accepted ? "ACCEPTED" : "refused"}`, `old primary rejoined as ${old?.role ?? "?"}`],
        violations,
      };
    },
  },
  {
    id: 3,
    name: "planned switchover (patronictl)",
    noFailuresAfterRetries: true,
    async run(ctx) {
      const leader = await leaderOf(ctx);
      const candidate = await until("a synchronous standby", 30_000, () => ctx.faults.withRole(ctx.shard, "sync_standby"));
      const started = performance.now();
      await ctx.faults.switchover(ctx.shard, leader, candidate);
      await until("the candidate to be primary", 60_000, async () => ((await ctx.faults.isPrimary(ctx.shard, candidate)) ? true : undefined));
      ctx.log(`    switched over to ${ctx.faults.memberName(ctx.shard, candidate)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await writesRecovered(ctx, started);
      await clusterHealthy(ctx);
      return { rtoMs: ctx.record().outageMs(ctx.shard), notes: [], violations: [] };
    },
  },
  {
    id: 4,
    name: "kill -9 of the synchronous standby",
    noFailuresAfterRetries: true,
    async run(ctx) {
      const sync = await until("a synchronous standby", 30_000, () => ctx.faults.withRole(ctx.shard, "sync_standby"));
      const killedAt = performance.now();
      ctx.faults.signal(ctx.shard, sync, "SIGKILL");
      ctx.log(`    killed ${ctx.faults.memberName(ctx.shard, sync)}`);
      const next = await until("another synchronous standby", 60_000, async () => {
        const m = await ctx.faults.withRole(ctx.shard, "sync_standby");
        return m !== undefined && m !== sync ? m : undefined;
      });
      ctx.log(`    ${ctx.faults.memberName(ctx.shard, next)} is the synchronous standby after ${((performance.now() - killedAt) / 1000).toFixed(1)} s`);
      await writesRecovered(ctx, killedAt);
      return { rtoMs: ctx.record().outageMs(ctx.shard), notes: [`${ctx.faults.memberName(ctx.shard, next)} became synchronous`], violations: [] };
    },
  },
  {
    id: 5,
    name: "etcd stopped for 30 s",
    noFailuresAfterRetries: true,
    async run(ctx) {
      const stoppedAt = performance.now();
      await ctx.faults.stackDown("etcd");
      ctx.log("    etcd stopped");
      await sleep(30_000);
      await ctx.faults.stackUp("etcd");
      ctx.log("    etcd started again");
      await writesRecovered(ctx, stoppedAt);
      await clusterHealthy(ctx);
      return { rtoMs: ctx.record().outageMs(ctx.shard), notes: ["failsafe_mode: primaries keep their role while they reach every member"], violations: [] };
    },
  },
  {
    id: 6,
    name: "booking service killed (kill -9), down 15 s, restarted",
    noFailuresAfterRetries: false,
    async run(ctx) {
      const pid = ctx.faults.servicePid("booking");
      if (!pid) throw new Error("no booking pid in the stack's run directory");
      const killedAt = performance.now();
      process.kill(pid, "SIGKILL");
      ctx.log(`    killed booking (pid ${pid})`);
      await sleep(15_000);
      await ctx.faults.stackUp("booking");
      const healthyAt = performance.now();
      await writesRecovered(ctx, healthyAt, 3_000);
      const firstOk = (ctx.record().answers.get(ctx.shard) ?? []).find((a) => a.ok && a.at > killedAt + 15_000);
      const servingAfterMs = Math.max(0, (firstOk?.at ?? performance.now()) - healthyAt);
      ctx.log(`    the edge served a booking ${servingAfterMs.toFixed(0)} ms after booking was healthy`);
      return {
        rtoMs: ctx.record().outageMs(ctx.shard),
        notes: [`first booking through the edge ${servingAfterMs.toFixed(0)} ms after booking answered its health check`],
        violations: servingAfterMs > 1_000 ? [`the edge needed ${servingAfterMs.toFixed(0)} ms (> 1 s) to serve bookings again`] : [],
      };
    },
  },
];
