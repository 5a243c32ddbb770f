/**
 * Latency and outcome bookkeeping. Runs here record at most a few hundred thousand samples, so
 * plain arrays sorted once at the end give exact percentiles without an HDR histogram.
 */

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  if (samplesMs.length === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samplesMs).sort();
  // Nearest-rank percentile: the value below which p% of the samples fall, never interpolated,
  // so a reported p99 is a latency some request really had.
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: sorted.length, mean: sum / sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1]! };
}

/** What one request ended with: `ok` for a 2xx / gRPC OK / committed transaction. */
export interface Outcome {
  ok: boolean;
  /** "201", "409 SLOT_FULL", "ABORTED SLOT_FULL", "OK", "FULL", "ERR ECONNRESET"... */
  status: string;
  /** Set when a booking was created (or transitioned): the id the server answered. */
  bookingId?: string;
}

/** An HTTP 429 answer ("429 RATE_LIMITED"): refused by the edge's limiter, never a success. */
export const isRateLimited = (status: string): boolean => /^429\b/.test(status);

/** Operation kinds a scenario issues; each gets its own latency distribution. */
export type OpKind = "book" | "confirm" | "cancel" | "list_doctors" | "list_slots" | "availability";

/** A booking the server said it holds, to be found in the database afterwards. */
export interface AcknowledgedBooking {
  id: string;
  slotId: string;
  /** The patient whose token made the request: the booking must be stored for them. */
  patientId: string;
  /** The state the last successful answer reported. */
  status: "PENDING" | "CONFIRMED" | "CANCELLED";
}

/** Per (scenario, mode): every latency by op kind, outcomes by status, acknowledged bookings. */
export class Recorder {
  readonly latencies = new Map<OpKind, number[]>();
  readonly statuses = new Map<string, number>();
  readonly bookings = new Map<string, AcknowledgedBooking>();
  /** Requests per patient (by pool index): the busiest shows how near the per-account limit a run came. */
  readonly perPatient = new Map<number, number>();
  requests = 0;
  errors = 0;
  /** Answers 429: the edge's rate limiter refused them; they never reached the booking path. */
  rateLimited = 0;
  /** Successful CreateBooking answers (seats taken), the number the issue counts as bookings. */
  booked = 0;
  startedAt = 0;
  endedAt = 0;

  record(kind: OpKind, latencyMs: number, outcome: Outcome, patientIndex?: number): void {
    let samples = this.latencies.get(kind);
    if (!samples) this.latencies.set(kind, (samples = []));
    samples.push(latencyMs);
    this.requests += 1;
    const key = `${kind} ${outcome.status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (!outcome.ok) this.errors += 1;
    if (isRateLimited(outcome.status)) this.rateLimited += 1;
    if (kind === "book" && outcome.ok) this.booked += 1;
    if (patientIndex !== undefined) this.perPatient.set(patientIndex, (this.perPatient.get(patientIndex) ?? 0) + 1);
  }

  /** The most requests one patient made in this run, and how many patients made any. */
  patientLoad(): { patients: number; busiest: number } {
    let busiest = 0;
    for (const n of this.perPatient.values()) busiest = Math.max(busiest, n);
    return { patients: this.perPatient.size, busiest };
  }

  all(): number[] {
    return [...this.latencies.values()].flat();
  }

  elapsedSeconds(): number {
    return Math.max(0.001, (this.endedAt - this.startedAt) / 1000);
  }
}

/**
 * Prints requests/s and errors once a second while a run is in flight, so a long benchmark
 * shows it is alive and a collapse (errors climbing, throughput dropping) is visible at once.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private lastRequests = 0;
  private lastBooked = 0;
  private ticks = 0;

  constructor(
    private readonly label: string,
    private readonly recorder: Recorder,
    private readonly print: (line: string) => void,
    private readonly extra: () => string = () => "",
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.ticks += 1;
    const r = this.recorder;
    const rps = r.requests - this.lastRequests;
    const bps = r.booked - this.lastBooked;
    this.lastRequests = r.requests;
    this.lastBooked = r.booked;
    this.print(
      `  ${this.label.padEnd(26)} ${String(this.ticks).padStart(3)}s  ${String(rps).padStart(6)} req/s  ${String(bps).padStart(6)} bookings/s  ` +
        `non-2xx ${r.errors}${r.rateLimited > 0 ? ` (429 RATE LIMITED ${r.rateLimited})` : ""}${this.extra()}`,
    );
  }
}
