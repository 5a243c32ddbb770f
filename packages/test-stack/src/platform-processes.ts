import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
/** The repository's root (this file is packages/test-stack/{src,dist}/). */
export const repoRoot = path.join(__dirname, "..", "..", "..");

/**
 * The whole platform as separate processes, started by the repository's own stack script in a
 * private state dir on free ports: what `npm start` runs, for tests that follow a request across
 * processes (traces) or look at the consoles an SRE opens.
 */
export interface PlatformProcesses {
  /** stack.env of this stack: EDGE_URL, JAEGER_QUERY_URL, ZIPKIN_URL, DASHBOARDS_URL, … */
  settings: Record<string, string>;
  /** Stops every process and deletes the state dir. */
  stop(): Promise<void>;
}

/**
 * Starts `components` (in the stack's own order) in `stateDir`, or a new temporary dir, with the
 * stack settings `stackSettings` (e.g. CLINIC_ADMIN_PASSWORD). The test stack's CLINIC_* settings
 * (its ports above all) and its OTEL_* exporter settings must not leak into this one.
 */
export async function startPlatform(components: string[], stateDir?: string, stackSettings: Record<string, string> = {}): Promise<PlatformProcesses> {
  const dir = stateDir ?? mkdtempSync(path.join(tmpdir(), "clinic-platform-"));
  mkdirSync(dir, { recursive: true });
  // The booking shards as databases of the one PostgreSQL: Patroni clusters (12 servers with the
  // defaults) would only slow these tests down; chaos/run tests the shards' failover.
  // Every request of these tests comes from one address: the anonymous per-address budget (10 a
  // minute) would refuse the sign-ups and sign-ins of the later tests.
  const env = { ...isolatedStackEnv(dir), CLINIC_LOG_LEVEL: "warn", CLINIC_BOOKING_HA: "none", RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000", ...stackSettings };
  const stack = (...args: string[]) => run("bash", [path.join(repoRoot, "scripts/stack"), ...args], { env, timeout: 540_000 });
  const stop = async () => {
    await stack("reset").catch(() => undefined);
  };
  try {
    await stack("up", ...components);
  } catch (err) {
    await stop();
    throw err;
  }
  const settings = readStackSettings(dir);
  return { settings, stop };
}

/**
 * The environment for a stack of a test's own in `stateDir` on free ports: the test stack's
 * CLINIC_* settings (its ports above all) and OTEL_* exporter settings must not leak into it.
 */
export function isolatedStackEnv(stateDir: string): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("CLINIC_") && !key.startsWith("OTEL_"))),
    CLINIC_STATE_DIR: stateDir,
    CLINIC_PORTS: "free",
  };
}

/** The settings a stack wrote to `stateDir/stack.env` (addresses, credentials), by name. */
export function readStackSettings(stateDir: string): Record<string, string> {
  return parseStackEnv(readFileSync(path.join(stateDir, "stack.env"), "utf8"));
}

/**
 * stack.env's `KEY=VALUE` lines, each value one shell word as scripts/stack writes it (`env_line`):
 * bare, or in single quotes with a quote inside written `'\''`. Read the way a shell sourcing the
 * file reads it, so a password or path with a space, a quote or a `$` comes back as it was set.
 */
export function parseStackEnv(text: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) settings[match[1]!] = shellWord(match[2]!, line);
  }
  return settings;
}

/** One shell word of single-quoted parts, backslash escapes and plain characters, unquoted. */
function shellWord(word: string, line: string): string {
  let value = "";
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new Error(`stack.env: unterminated quote in ${JSON.stringify(line)}`);
      value += word.slice(i + 1, end);
      i = end;
    } else if (c === "\\" && i + 1 < word.length) {
      value += word[++i];
    } else if (/[\s"`$;&|<>()]/.test(c)) {
      // scripts/stack never writes these bare: the file was written some other way.
      throw new Error(`stack.env: ${JSON.stringify(c)} outside quotes in ${JSON.stringify(line)}`);
    } else {
      value += c;
    }
  }
  return value;
}
