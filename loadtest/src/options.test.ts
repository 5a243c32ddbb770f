import { parseOptions, UsageError, type Options } from "./options";

const parsed = (...argv: string[]): Options => {
  const options = parseOptions(argv);
  if (options === "help") throw new Error("expected options, got help");
  return options;
};

const FULL: Options = {
  quick: false,
  durationS: 15,
  concurrency: 64,
  hotClients: 1000,
  hotCapacity: 10,
  hotRounds: 40,
  scenarios: ["spread", "hot", "browse", "lifecycle"],
  modes: ["edge", "grpc", "baseline", "pgbench"],
  outDir: undefined,
  baselinePool: 20,
  pgbenchMaxClients: 100,
  poolerClients: 200,
  chart: true,
  settle: true,
  patients: 20_000,
};

const QUICK: Options = {
  ...FULL,
  quick: true,
  durationS: 0.5,
  concurrency: 8,
  hotClients: 100,
  hotRounds: 1,
  pgbenchMaxClients: 8,
  poolerClients: 20,
  chart: false,
  settle: false,
  patients: 1000,
};

/** The command lines loadtest/README.md documents, and what each must mean. */
describe("loadtest options", () => {
  it("runs the full benchmark without options", () => {
    expect(parsed()).toEqual(FULL);
  });

  it("runs the smoke test with --quick (scripts/test)", () => {
    expect(parsed("--quick")).toEqual(QUICK);
  });

  it("runs the pooler check alone (--quick --modes d --scenarios spread)", () => {
    expect(parsed("--quick", "--modes", "d", "--scenarios", "spread")).toEqual({ ...QUICK, modes: ["pgbench"], scenarios: ["spread"] });
  });

  it("takes every numeric option, and names, aliases and duplicates in lists in their canonical order", () => {
    expect(
      parsed(
        "--duration", "2.5",
        "--concurrency", "3",
        "--hot-clients", "50",
        "--hot-capacity", "1000",
        "--hot-rounds", "7",
        "--scenarios", "lifecycle, hot,hot",
        "--modes", "c,edge,a",
        "--out", "/tmp/results",
        "--baseline-pool", "5",
        "--pgbench-max-clients", "9",
        "--pooler-clients", "11",
        "--patients", "60",
        "--no-settle",
      ),
    ).toEqual({
      ...FULL,
      durationS: 2.5,
      concurrency: 3,
      hotClients: 50,
      hotCapacity: 1000,
      hotRounds: 7,
      scenarios: ["hot", "lifecycle"],
      modes: ["edge", "baseline"],
      outDir: "/tmp/results",
      baselinePool: 5,
      pgbenchMaxClients: 9,
      poolerClients: 11,
      patients: 60,
      settle: false,
    });
  });

  it("draws the chart unless --no-chart, and with --quick only when asked", () => {
    expect(parsed("--no-chart").chart).toBe(false);
    expect(parsed("--quick", "--chart").chart).toBe(true);
    expect(parsed("--chart", "--no-chart").chart).toBe(false);
  });

  it("raises the default number of patients to the burst size", () => {
    expect(parsed("--hot-clients", "30000").patients).toBe(30_000);
    expect(parsed("--quick", "--hot-clients", "1500").patients).toBe(1500);
  });

  it("answers help for --help and -h", () => {
    expect(parseOptions(["--help"])).toBe("help");
    expect(parseOptions(["-h"])).toBe("help");
  });

  it.each([
    [["--duration", "0"], "--duration must be a positive number, got '0'"],
    [["--concurrency", "1.5"], "--concurrency must be a positive integer, got '1.5'"],
    [["--hot-clients", "x"], "--hot-clients must be a positive integer, got 'x'"],
    [["--hot-capacity", "1001"], "--hot-capacity must be at most 1000 (the API's limit)"],
    [["--hot-rounds=-1"], "--hot-rounds must be a positive integer, got '-1'"],
    [["--baseline-pool", ""], "--baseline-pool must be a positive integer, got ''"],
    [["--pgbench-max-clients", "0"], "--pgbench-max-clients must be a positive integer, got '0'"],
    [["--pooler-clients", "2e400"], "--pooler-clients must be a positive integer, got '2e400'"],
    [["--patients", "10", "--hot-clients", "20"], "--patients must be at least --hot-clients (20): every client of a burst is another patient"],
    [["--scenarios", "spread,storm"], "--scenarios: unknown 'storm' (known: spread, hot, browse, lifecycle)"],
    [["--modes", "e"], "--modes: unknown 'e' (known: edge, grpc, baseline, pgbench)"],
    [["--modes", " , "], "--modes is empty"],
  ])("refuses %j", (argv, message) => {
    let thrown: unknown;
    try {
      parseOptions(argv);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as UsageError).message).toBe(message);
  });

  it("refuses unknown options and positionals", () => {
    expect(() => parseOptions(["--fast"])).toThrow(/Unknown option '--fast'/);
    expect(() => parseOptions(["spread"])).toThrow(/positional argument/);
  });
});
