/**
 * Where a service's CPU went under load, from a V8 CPU profile (`node --cpu-prof`, e.g. a stack
 * service started with `NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" scripts/stack up booking`):
 * the busiest window of the profile (the load, not the start-up), its time by package or file
 * (self time), and by function including callees.
 *
 *   node loadtest/dist/profile-top.js FILE.cpuprofile [--window-ms 8000] [--skip-ms 15000] [--top 40]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Options {
  file: string;
  windowMs: number;
  skipMs: number;
  top: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { file: "", windowMs: 8_000, skipMs: 15_000, top: 40 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${arg} needs a non-negative number`);
      return n;
    };
    if (arg === "--window-ms") options.windowMs = value();
    else if (arg === "--skip-ms") options.skipMs = value();
    else if (arg === "--top") options.top = value();
    else if (!arg.startsWith("--") && options.file === "") options.file = arg;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (options.file === "") throw new Error("usage: profile-top FILE.cpuprofile [--window-ms N] [--skip-ms N] [--top N]");
  return options;
}

/** A function, with its file shortened to the package (node_modules) or the repository path. */
function functionLabel(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/.*node_modules\//, "").replace(/^file:\/\//, "").replace(/.*\/(services|packages)\//, "$1/");
  return `${functionName || "(anonymous)"} ${where}${where ? `:${lineNumber + 1}` : ""}`;
}

function packageLabel(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  const inModules = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  if (url.startsWith("node:")) return url;
  const own = /\/((services|packages)\/[^/]+)\//.exec(url);
  if (own) return own[1]!;
  // V8's own entries: (idle), (garbage collector), (program), and native functions.
  return functionName || "(native)";
}

const say = (line: string): boolean => process.stdout.write(`${line}\n`);
// Piped into `head`: stop quietly once the reader has what it wanted.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(0);
});

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const profile = JSON.parse(readFileSync(options.file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

  // Sample times (ms since the profile began), and the busiest window after the start-up.
  let clock = 0;
  const at = profile.timeDeltas.map((d) => (clock += d) / 1000);
  const busy = (i: number): number => (nodes.get(profile.samples[i]!)!.callFrame.functionName === "(idle)" ? 0 : profile.timeDeltas[i]! / 1000);
  let best = -1;
  let bestStart = 0;
  let sum = 0;
  for (let i = 0, j = 0; i < profile.samples.length; i++) {
    sum += busy(i);
    while (at[i]! - at[j]! > options.windowMs) sum -= busy(j++);
    if (at[j]! >= options.skipMs && sum > best) {
      best = sum;
      bestStart = at[j]!;
    }
  }
  if (best < 0) throw new Error(`the profile is shorter than --skip-ms ${options.skipMs} plus a window`);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (at[i]! < bestStart || at[i]! > bestStart + options.windowMs) continue;
    const ms = profile.timeDeltas[i]! / 1000;
    const leaf = nodes.get(profile.samples[i]!)!;
    total += ms;
    self.set(packageLabel(leaf), (self.get(packageLabel(leaf)) ?? 0) + ms);
    // A recursive function counts once per sample.
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parentOf.get(id)) {
      const label = functionLabel(nodes.get(id)!);
      if (seen.has(label)) continue;
      seen.add(label);
      inclusive.set(label, (inclusive.get(label) ?? 0) + ms);
    }
  }
  const print = (title: string, entries: Map<string, number>) => {
    say(`\n${title}`);
    for (const [label, ms] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, options.top)) {
      say(`${((100 * ms) / total).toFixed(1).padStart(6)}%  ${label}`);
    }
  };
  say(`${options.file}: busiest ${options.windowMs} ms window from ${(bestStart / 1000).toFixed(1)} s, ${best.toFixed(0)} ms busy (${((100 * best) / options.windowMs).toFixed(0)}% of one core)`);
  print("self time by package or file", self);
  print("time by function, callees included", inclusive);
}

main();
