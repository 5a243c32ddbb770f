import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, "..", "..", "..");

export interface ClusterMember {
  name: string;
  role: "leader" | "sync_standby" | "replica" | string;
  state: string;
  timeline?: number;
  lag?: number | string;
}

/**
 * The faults the chaos suite injects, on the processes of the stack in CLINIC_STATE_DIR, found
 * the way scripts/stack records them: each Patroni member's pid file, its PostgreSQL's
 * postmaster.pid, and the ports in patroni/ports.env.
 */
export class StackFaults {
  private readonly ports: Record<string, number>;

  constructor(readonly stateDir: string) {
    this.ports = Object.fromEntries(
      readFileSync(path.join(stateDir, "patroni", "ports.env"), "utf8")
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), Number(line.slice(line.indexOf("=") + 1))]),
    );
  }

  memberName(shard: number, member: number): string {
    return `booking-${shard}-m${member}`;
  }

  membersOf(shard: number): number[] {
    return Object.keys(this.ports)
      .filter((k) => k.startsWith(`REST_${shard}_`))
      .map((k) => Number(k.split("_")[2]))
      .sort((a, b) => a - b);
  }

  memberIndex(name: string): number {
    return Number(/-m(\d+)$/.exec(name)![1]);
  }

  pgPort(shard: number, member: number): number {
    return this.ports[`PG_${shard}_${member}`]!;
  }

  /** The cluster as any member that answers sees it. */
  async cluster(shard: number): Promise<ClusterMember[]> {
    for (const m of this.membersOf(shard)) {
      try {
        const res = await fetch(`http://127.0.0.1:${this.ports[`REST_${shard}_${m}`]}/cluster`, { signal: AbortSignal.timeout(1_500) });
        if (res.ok) return ((await res.json()) as { members: ClusterMember[] }).members;
      } catch {
        // that member is down or frozen; ask the next
      }
    }
    throw new Error(`no member of shard ${shard} answers on its REST API`);
  }

  async withRole(shard: number, role: string): Promise<number | undefined> {
    const member = (await this.cluster(shard)).find((m) => m.role === role && m.state !== "stopped");
    return member ? this.memberIndex(member.name) : undefined;
  }

  /** Whether the member's Patroni says it is the primary (REST /primary answers 200). */
  async isPrimary(shard: number, member: number): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports[`REST_${shard}_${member}`]}/primary`, { method: "OPTIONS", signal: AbortSignal.timeout(1_000) });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Patroni's pid, its PostgreSQL's postmaster and every backend of that postmaster. */
  processesOf(shard: number, member: number): number[] {
    const name = this.memberName(shard, member);
    const pids: number[] = [];
    const patroni = readPid(path.join(this.stateDir, "run", `${name}.pid`));
    if (patroni) pids.push(patroni);
    const postmaster = readPid(path.join(this.stateDir, "patroni", name, "data", "postmaster.pid"));
    if (postmaster && alive(postmaster)) pids.push(postmaster, ...childrenOf(postmaster));
    return pids.filter(alive);
  }

  /** The whole member at once, as a machine dies: Patroni and its PostgreSQL. */
  signal(shard: number, member: number, signal: NodeJS.Signals): number[] {
    const pids = this.processesOf(shard, member);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    return pids;
  }

  /** Starts whatever the stack runs that is down (dead members rejoin, pg_rewind included). */
  async stackUp(...components: string[]): Promise<void> {
    await run("bash", [path.join(repoRoot, "scripts", "stack"), "up", ...components], { env: process.env, timeout: 300_000 });
  }

  async stackDown(...components: string[]): Promise<void> {
    await run("bash", [path.join(repoRoot, "scripts", "stack"), "down", ...components], { env: process.env, timeout: 120_000 });
  }

  /** A planned switchover, as an operator runs it. */
  async switchover(shard: number, leader: number, candidate: number): Promise<string> {
    const conf = path.join(this.stateDir, "patroni", `${this.memberName(shard, leader)}.yml`);
    const { stdout } = await run(
      "patronictl",
      ["-c", conf, "switchover", `--leader=${this.memberName(shard, leader)}`, `--candidate=${this.memberName(shard, candidate)}`, "--force"],
      { timeout: 120_000 },
    );
    return stdout;
  }

  /** The booking service's pid, as scripts/stack recorded it. */
  servicePid(name: string): number | undefined {
    return readPid(path.join(this.stateDir, "run", `${name}.pid`));
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
