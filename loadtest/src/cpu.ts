import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";

/** Stack components that run as processes, as named by `scripts/stack` pid files. */
const COMPONENTS = [
  "postgres",
  "redis",
  "kafka",
  "jaeger",
  "zipkin",
  "prometheus",
  "victoriametrics",
  "sinks",
  "etcd",
  "haproxy",
  "pgbouncer",
  "doctor",
  "slot",
  "booking",
  "notifier",
  "edge",
] as const;

/**
 * Booking shards as Patroni clusters: one pid file per member (`booking-<shard>-m<member>`), a
 * Patroni process whose children are that member's PostgreSQL. Counted together, primaries and
 * standbys alike: replication is part of what a booking costs there.
 */
const SHARD_MEMBER = /^booking-\d+-m\d+\.pid$/;
const SHARD_DATABASES = "shard-dbs";

interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, in clock ticks. */
  own: number;
  /** cutime + cstime: children that exited and were reaped (PostgreSQL backends, pgbench). */
  reaped: number;
}

function readStat(pid: number | "self"): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may contain spaces and parentheses.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = ((): number => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

export type CpuSample = Map<string, number>;

/**
 * CPU time per stack component (the process, its live descendants and its reaped children), the
 * harness itself and its children (pgbench). The difference of two samples over the wall time
 * says where a run's CPU went; on a 2-core machine the sum is at most 200%.
 */
export class CpuSampler {
  private readonly pids = new Map<string, number[]>();

  constructor(stateDir: string | undefined) {
    if (!stateDir) return;
    const run = path.join(stateDir, "run");
    const pidIn = (file: string): number | undefined => {
      const pid = Number(readFileSync(path.join(run, file), "utf8").trim().split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    };
    const add = (name: string, pid: number | undefined) => {
      if (pid !== undefined) this.pids.set(name, [...(this.pids.get(name) ?? []), pid]);
    };
    for (const name of COMPONENTS) {
      if (existsSync(path.join(run, `${name}.pid`))) add(name, pidIn(`${name}.pid`));
    }
    if (existsSync(run)) for (const file of readdirSync(run).filter((f) => SHARD_MEMBER.test(f)).sort()) add(SHARD_DATABASES, pidIn(file));
    // Patroni may start its PostgreSQL outside its own process tree: the postmasters too, by
    // their pid files (a process counted from two roots counts once, see `sample`).
    const patroni = path.join(stateDir, "patroni");
    if (existsSync(patroni)) {
      for (const member of readdirSync(patroni).filter((f) => SHARD_MEMBER.test(`${f}.pid`))) {
        const file = path.join(patroni, member, "data", "postmaster.pid");
        if (!existsSync(file)) continue;
        const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
        if (Number.isInteger(pid) && pid > 0) add(SHARD_DATABASES, pid);
      }
    }
  }

  get available(): boolean {
    return this.pids.size > 0;
  }

  sample(): CpuSample {
    const stats = new Map<number, ProcStat>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const s = readStat(Number(entry));
      if (s) stats.set(Number(entry), s);
    }
    const children = new Map<number, number[]>();
    for (const [pid, s] of stats) {
      const list = children.get(s.ppid);
      if (list) list.push(pid);
      else children.set(s.ppid, [pid]);
    }
    /** CPU of the trees under `roots`, each process once even when two roots share it. */
    const trees = (roots: readonly number[]): number => {
      const seen = new Set<number>();
      const walk = (pid: number): number => {
        const s = stats.get(pid);
        if (!s || seen.has(pid)) return 0;
        seen.add(pid);
        return s.own + s.reaped + (children.get(pid) ?? []).reduce((sum, child) => sum + walk(child), 0);
      };
      return roots.reduce((sum, pid) => sum + walk(pid), 0);
    };
    const tree = (pid: number): number => trees([pid]);
    const sample: CpuSample = new Map();
    for (const [name, pids] of this.pids) sample.set(name, trees(pids));
    // The whole machine, from /proc/stat: what the stack and harness did not use went to other
    // processes (or stayed idle). On a shared machine that share explains a low number.
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    sample.set("machine", cpu.slice(0, 8).reduce((a, b) => a + b, 0) - idle);
    const self = readStat("self");
    if (self) {
      sample.set("harness", self.own);
      sample.set("pgbench", self.reaped + (children.get(process.pid) ?? []).reduce((sum, child) => sum + tree(child), 0));
    }
    return sample;
  }

  /**
   * Percent of one core per component between two samples; `machine` is every core's busy time
   * and `other` what processes outside the stack and the harness took of it.
   */
  static usage(before: CpuSample, after: CpuSample, seconds: number): Record<string, number> {
    const out: Record<string, number> = {};
    const pct = (delta: number) => Math.round((delta / CLOCK_TICKS / seconds) * 1000) / 10;
    let ours = 0;
    for (const [name, ticks] of after) {
      const delta = ticks - (before.get(name) ?? ticks);
      out[name] = pct(delta);
      if (name !== "machine") ours += delta;
    }
    const machine = (after.get("machine") ?? 0) - (before.get("machine") ?? 0);
    out.other = Math.max(0, pct(machine - ours));
    return out;
  }
}
