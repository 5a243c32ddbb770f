import { createLogger, type Logger } from "@clinic/platform/logging";

// The services log levels by name ("warn"), pino's numbers otherwise.
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const WARN = LEVELS["warn"]!;

/**
 * Keeps the services' last log lines in memory, so a test of the whole platform that fails can
 * say what the services said meanwhile (a consumer that crashed, a relay that kept failing)
 * instead of only "condition not met". Lines also go to stdout when TEST_LOG_LEVEL asks for them.
 */
export class LogRecorder {
  private readonly lines: { level: number; text: string }[] = [];

  constructor(private readonly keep = 500) {}

  /** A logger for `service` that records info and above; pass as a stack's `logger`. */
  readonly logger = (service: string): Logger =>
    createLogger({ service, level: "info", destination: { write: (line: string) => this.record(line) } });

  private record(line: string): void {
    if (process.env["TEST_LOG_LEVEL"]) process.stdout.write(line);
    let level = 0;
    try {
      const named = (JSON.parse(line) as { level?: unknown }).level;
      level = typeof named === "string" ? (LEVELS[named] ?? 0) : Number(named) || 0;
    } catch {
      // Not JSON: kept with level 0.
    }
    this.lines.push({ level, text: line.trimEnd() });
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
  }

  /** The last `count` recorded lines at warn or above, one per line ("" when there are none). */
  warnings(count = 30): string {
    return this.lines
      .filter((l) => l.level >= WARN)
      .slice(-count)
      .map((l) => l.text)
      .join("\n");
  }

  /** Rethrows a failure of `work` with the recent warnings appended. */
  async explain<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      const warnings = this.warnings();
      if (err instanceof Error && warnings) err.message += `\nthe services' last warnings and errors:\n${warnings}`;
      throw err;
    }
  }
}
