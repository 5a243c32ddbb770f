import { parseArgs } from "node:util";

export const SCENARIOS = ["spread", "hot", "browse", "lifecycle"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** a: through the edge, b: booking over gRPC, c: the seed's algorithm, d: our SQL under pgbench. */
export const MODES = ["edge", "grpc", "baseline", "pgbench"] as const;
export type ModeName = (typeof MODES)[number];

const MODE_ALIASES: Record<string, ModeName> = { a: "edge", b: "grpc", c: "baseline", d: "pgbench" };

export interface Options {
  quick: boolean;
  /** Seconds of each (scenario, mode) run. */
  durationS: number;
  /** Closed-loop clients of the spread, browse and lifecycle scenarios. */
  concurrency: number;
  /** Clients fired at once at each hot slot. */
  hotClients: number;
  /** Seats of each hot slot. */
  hotCapacity: number;
  /** Most hot slots per mode (rounds stop earlier when the duration is over). */
  hotRounds: number;
  scenarios: ScenarioName[];
  modes: ModeName[];
  outDir: string | undefined;
  /** Connections of the seed baseline's pool (the seed app's pg pool). */
  baselinePool: number;
  /** Most pgbench clients: every client is a server process, and max_connections is 300. */
  pgbenchMaxClients: number;
  /** pgbench clients through PgBouncer in the pooler check (spread scenario, mode d). */
  poolerClients: number;
  chart: boolean;
  /** Wait for the outbox relay to drain between runs so one mode's aftermath does not tax the next. */
  settle: boolean;
  /** Simulated patients, each with a token minted before the timed phase (at least `hotClients`). */
  patients: number;
}

const USAGE = `usage: loadtest/run [--private] [options]
  --quick              smoke run (~15 s on a running stack): every scenario and mode, tiny load, correctness only
  --duration S         seconds per scenario and mode (default 15; quick 0.5)
  --concurrency N      closed-loop clients for spread, browse, lifecycle (default 64; quick 8)
  --hot-clients N      clients fired at once at each hot slot (default 1000; quick 100)
  --hot-capacity N     seats per hot slot (default 10)
  --hot-rounds N       most hot slots per mode (default 40; quick 1)
  --scenarios LIST     comma-separated: ${SCENARIOS.join(",")} (default all)
  --modes LIST         comma-separated: ${MODES.join(",")} or a,b,c,d (default all)
  --out DIR            result directory (default loadtest/results/<timestamp>/; relative to the repository root under loadtest/run)
  --baseline-pool N    pg pool size of the seed baseline (default 20)
  --pgbench-max-clients N  cap on pgbench -c (default 100; quick 8)
  --pooler-clients N   booking clients through PgBouncer in the pooler check, when the stack has one (default 200; quick 20)
  --no-chart / --chart     PNG chart (default on; off with --quick)
  --no-settle          do not wait for the outbox to drain between runs
  --patients N         simulated patients, each with its own token (default 20000; quick 1000; at least --hot-clients)
`;

/** The options that take a positive number: the field each sets, and its defaults. */
type CountField = "durationS" | "concurrency" | "hotClients" | "hotCapacity" | "hotRounds" | "baselinePool" | "pgbenchMaxClients" | "poolerClients" | "patients";
interface CountOption {
  field: CountField;
  /** The default of a full run, and of a --quick one. */
  full: number;
  quick: number;
  /** Whole numbers only, unless false. */
  integer?: false;
  /** The largest value, and why. */
  max?: [number, string];
}

// In the order they are checked: --patients defaults to at least the burst size (--hot-clients).
const COUNT_OPTIONS: Record<string, CountOption> = {
  "hot-capacity": { field: "hotCapacity", full: 10, quick: 10, max: [1000, "the API's limit"] },
  "hot-clients": { field: "hotClients", full: 1000, quick: 100 },
  patients: { field: "patients", full: 20_000, quick: 1000 },
  duration: { field: "durationS", full: 15, quick: 0.5, integer: false },
  concurrency: { field: "concurrency", full: 64, quick: 8 },
  "hot-rounds": { field: "hotRounds", full: 40, quick: 1 },
  "baseline-pool": { field: "baselinePool", full: 20, quick: 20 },
  "pgbench-max-clients": { field: "pgbenchMaxClients", full: 100, quick: 8 },
  "pooler-clients": { field: "poolerClients", full: 200, quick: 20 },
};

function positive(name: string, raw: string | undefined, fallback: number, integer = true): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be a positive ${integer ? "integer" : "number"}, got '${raw}'`);
  }
  return value;
}

/** Every count option's value: given, or its default (of a --quick run when `quick`). */
function counts(values: Record<string, string | boolean | undefined>, quick: boolean): Record<CountField, number> {
  const picked = {} as Record<CountField, number>;
  for (const [name, option] of Object.entries(COUNT_OPTIONS)) {
    let fallback = quick ? option.quick : option.full;
    // A burst needs a different patient per client: one seat per patient per slot.
    if (option.field === "patients") fallback = Math.max(fallback, picked.hotClients);
    const value = positive(name, values[name] as string | undefined, fallback, option.integer ?? true);
    if (option.max && value > option.max[0]) throw new UsageError(`--${name} must be at most ${option.max[0]} (${option.max[1]})`);
    picked[option.field] = value;
  }
  if (picked.patients < picked.hotClients) {
    throw new UsageError(`--patients must be at least --hot-clients (${picked.hotClients}): every client of a burst is another patient`);
  }
  return picked;
}

function list<T extends string>(name: string, raw: string | undefined, known: readonly T[], aliases: Record<string, T> = {}): T[] {
  if (raw === undefined) return [...known];
  const picked: T[] = [];
  for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const value = aliases[item] ?? (known as readonly string[]).find((k) => k === item);
    if (!value) throw new UsageError(`--${name}: unknown '${item}' (known: ${known.join(", ")})`);
    if (!picked.includes(value as T)) picked.push(value as T);
  }
  if (picked.length === 0) throw new UsageError(`--${name} is empty`);
  // Keep the canonical order so tables always read the same way.
  return known.filter((k) => picked.includes(k));
}

export class UsageError extends Error {
  readonly usage = USAGE;
}

const COUNT_ARGS = Object.fromEntries(Object.keys(COUNT_OPTIONS).map((name) => [name, { type: "string" } as const]));

export function parseOptions(argv: readonly string[]): Options | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      ...COUNT_ARGS,
      quick: { type: "boolean", default: false },
      scenarios: { type: "string" },
      modes: { type: "string" },
      out: { type: "string" },
      chart: { type: "boolean" },
      "no-chart": { type: "boolean" },
      "no-settle": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const quick = values.quick ?? false;
  return {
    quick,
    ...counts(values, quick),
    scenarios: list("scenarios", values.scenarios, SCENARIOS),
    modes: list("modes", values.modes, MODES, MODE_ALIASES),
    outDir: values.out,
    chart: values["no-chart"] ? false : (values.chart ?? !quick),
    settle: !values["no-settle"] && !quick,
  };
}

export const usage = USAGE;
