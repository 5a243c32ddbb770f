import { TOPICS } from "@clinic/platform/kafka";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { databaseAt } from "../databases";
import type { PgSettings } from "../config";
import type { ScenarioName } from "../options";
import type { Recorder, OpKind } from "../stats";
import type { SlotRef } from "./target";

/** Where pgbench is: $PGBENCH, next to the server (pg_config, Debian's layout), or on PATH. */
export function findPgbench(explicit?: string): string | undefined {
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const candidates: string[] = [];
  const bindir = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (bindir.status === 0) candidates.push(path.join(bindir.stdout.trim(), "pgbench"));
  if (existsSync("/usr/lib/postgresql")) {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`));
  }
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  const which = spawnSync("sh", ["-c", "command -v pgbench"], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** A uuid[] literal pgbench indexes with a random variable: no helper table in the service's database. */
const slotArray = (slots: readonly SlotRef[]): string => `('{${slots.map((s) => s.id).join(",")}}'::uuid[])`;

/** A patient uuid built from a random integer: pgbench's `\set` has numbers only. */
const PATIENT = "('00000000-0000-4000-8000-' || lpad(to_hex(:p::bigint), 12, '0'))::uuid";
const ACTIVE = "(b.status = 'CONFIRMED' OR (b.status = 'PENDING' AND b.expires_at > now()))";
/** About the size of a protobuf booking event. */
const PAYLOAD_HEX = "0a24".padEnd(360, "5a");

/**
 * Our outbox row, marked published at once: it is not a real event, so the relay must never
 * send it to Kafka (the relay reads only `published_at IS NULL`). The write cost is the same.
 */
const outboxInsert = (type: string, key: string): string =>
  `INSERT INTO outbox (event_id, topic, message_key, event_type, payload, published_at)
VALUES (gen_random_uuid(), '${TOPICS.bookingEvents}', ${key}::text, '${type}', decode('${PAYLOAD_HEX}', 'hex'), now());`;

/**
 * The booking transaction of `BookingShardRepository.create`, as SQL: the conditional seat
 * increment, the duplicate-hold check under that row lock, the PENDING booking, the outbox row.
 * When no seat is left it rolls back, as the service does (without its reclaim of lapsed holds,
 * which finds none here). Ends inside the open `\if :took` branch: the caller closes it.
 */
function holdScript(slots: readonly SlotRef[]): string {
  const slot = `${slotArray(slots)}[:r]`;
  return `\\set r random(1, ${slots.length})
\\set p random(1, 1000000000000)
BEGIN;
WITH taken AS (
  UPDATE slot_inventory SET held = held + 1, updated_at = now()
   WHERE slot_id = ${slot} AND held < capacity AND NOT retired
  RETURNING slot_id)
SELECT count(*) AS took FROM taken \\gset
\\if :took
SELECT count(*) AS dup FROM bookings b WHERE b.slot_id = ${slot} AND b.patient_id = ${PATIENT} AND ${ACTIVE} \\gset
INSERT INTO bookings (id, created_at, slot_id, doctor_id, patient_id, patient_name, patient_contact, patient_phone,
                      status, slot_start_time, expires_at)
SELECT gen_random_uuid(), now(), i.slot_id, i.doctor_id, ${PATIENT}, 'pgbench', 'loadtest@example.org', '',
       'PENDING', i.start_time, now() + interval '120 seconds'
  FROM slot_inventory i WHERE i.slot_id = ${slot}
RETURNING id AS bid, created_at AS bcreated \\gset
${outboxInsert("booking.created", slot)}
COMMIT;
`;
}

const bookScript = (slots: readonly SlotRef[]): string => `${holdScript(slots)}\\else
ROLLBACK;
\\endif
`;

/** Then confirm (60%), cancel (30%, the seat back) or leave the hold to lapse (10%), each its own transaction. */
const lifecycleScript = (slots: readonly SlotRef[]): string => `\\set action random(1, 10)
${holdScript(slots)}\\if :action <= 6
BEGIN;
UPDATE bookings SET status = 'CONFIRMED', updated_at = now()
 WHERE id = :bid::uuid AND created_at = :bcreated::timestamptz AND status = 'PENDING' AND expires_at > now()
RETURNING slot_id AS cslot \\gset
${outboxInsert("booking.confirmed", ":cslot::uuid")}
COMMIT;
\\elif :action <= 9
BEGIN;
UPDATE bookings SET status = 'CANCELLED', updated_at = now()
 WHERE id = :bid::uuid AND created_at = :bcreated::timestamptz
   AND (status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now()))
RETURNING slot_id AS cslot \\gset
UPDATE slot_inventory SET held = held - 1, updated_at = now() WHERE slot_id = :cslot::uuid;
${outboxInsert("booking.cancelled", ":cslot::uuid")}
COMMIT;
\\endif
\\else
ROLLBACK;
\\endif
`;

/** The service's availability read (`BookingShardRepository.availability`) over 10 consecutive slots. */
function availabilityScript(slots: readonly SlotRef[]): string {
  const width = Math.min(10, slots.length);
  return `\\set a random(1, ${slots.length - width + 1})
\\set b :a + ${width - 1}
SELECT i.slot_id, i.capacity, i.retired,
       i.held - (SELECT count(*) FROM bookings b
                  WHERE b.slot_id = i.slot_id AND b.status = 'PENDING' AND b.expires_at <= now())::int AS held
  FROM slot_inventory i WHERE i.slot_id = ANY(${slotArray(slots)}[:a : :b]);
`;
}

export interface PgbenchPlan {
  scenario: ScenarioName;
  slots: SlotRef[];
  clients: number;
  seconds: number;
  /** pgbench's -M: `prepared` (named statements, the default) or `extended` (unnamed, for PgBouncer). */
  protocol?: "prepared" | "extended";
}

/** Script files (name@weight) and the op kind each script number records as. */
function scripts(plan: PgbenchPlan): { file: string; weight: number; body: string; kind: OpKind }[] {
  switch (plan.scenario) {
    case "spread":
    case "hot":
      return [{ file: "book.sql", weight: 1, body: bookScript(plan.slots), kind: "book" }];
    case "browse":
      return [
        { file: "book.sql", weight: 1, body: bookScript(plan.slots), kind: "book" },
        { file: "availability.sql", weight: 9, body: availabilityScript(plan.slots), kind: "availability" },
      ];
    case "lifecycle":
      return [{ file: "lifecycle.sql", weight: 1, body: lifecycleScript(plan.slots), kind: "book" }];
  }
}

export interface PgbenchResult {
  command: string;
  tps: number;
  transactions: number;
  failed: number;
  abortedClients: number;
  exitCode: number;
  stderrTail: string;
}

/**
 * Mode (d): runs pgbench on one shard database with the scripts of a scenario, feeding each
 * transaction's latency (from pgbench's per-transaction log) into the recorder, so percentiles
 * come out the same way as for the other modes.
 */
export async function runPgbench(
  binary: string,
  pg: PgSettings,
  database: string,
  plan: PgbenchPlan,
  dir: string,
  recorder: Recorder,
  print: (line: string) => void,
  label: string,
): Promise<PgbenchResult> {
  mkdirSync(dir, { recursive: true });
  const files = scripts(plan);
  for (const f of files) writeFileSync(path.join(dir, f.file), f.body);
  const logPrefix = path.join(dir, "tx");
  const args = [
    "-n", // no VACUUM of pgbench's own tables: there are none here
    "-M", plan.protocol ?? "prepared",
    "-c", String(plan.clients),
    "-j", String(Math.min(2, plan.clients)),
    "-T", String(plan.seconds),
    "-P", "1",
    "-l", `--log-prefix=${logPrefix}`,
    ...files.flatMap((f) => ["-f", `${path.join(dir, f.file)}@${f.weight}`]),
  ];
  // The database travels in PGDATABASE rather than as the trailing argument, where a name that
  // starts with "-" would be read as an option. A shard named by its address (a Patroni cluster's
  // primary at HAProxy) is reached there, as the booking service reaches it.
  const target = databaseAt(pg, database);
  const command = `PGHOST=${target.host} PGPORT=${target.port} PGDATABASE=${target.database} pgbench ${args.join(" ")}`;
  writeFileSync(path.join(dir, "command.txt"), `${command}\n`);

  recorder.startedAt = performance.now();
  const child = spawn(binary, args, {
    env: { ...process.env, PGHOST: target.host, PGPORT: String(target.port), PGUSER: pg.user, PGPASSWORD: pg.password, PGDATABASE: target.database },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    for (const line of text.split("\n")) {
      const m = /^progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms.*?(?:, (\d+) failed)?$/.exec(line.trim());
      if (m) print(`  ${label.padEnd(26)} ${Number(m[1]).toFixed(0).padStart(3)}s  ${Number(m[2]).toFixed(0).padStart(6)} tx/s   mean ${m[3]} ms  failed ${m[4] ?? 0}`);
    }
  });
  const exitCode = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  recorder.endedAt = performance.now();
  writeFileSync(path.join(dir, "stdout.txt"), stdout);
  writeFileSync(path.join(dir, "stderr.txt"), stderr);

  // Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us.
  const logs = readdirSync(dir).filter((f) => f.startsWith("tx."));
  let logged = 0;
  for (const file of logs) {
    for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
      const fields = line.split(" ");
      if (fields.length < 4) continue;
      const kind = files[Number(fields[3])]?.kind ?? "book";
      const micros = Number(fields[2]);
      if (Number.isFinite(micros)) {
        recorder.record(kind, micros / 1000, { ok: true, status: "OK" });
        logged += 1;
      } else {
        recorder.record(kind, 0, { ok: false, status: `ERR ${fields[2]}` });
      }
    }
  }
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? 0);
  return {
    command,
    tps: num(/^tps = ([\d.]+)/m),
    transactions: num(/number of transactions actually processed: (\d+)/) || logged,
    failed: num(/number of failed transactions: (\d+)/),
    abortedClients: (stderr.match(/client \d+ aborted/g) ?? []).length,
    exitCode,
    stderrTail: stderr.split("\n").filter((l) => l && !l.startsWith("progress:")).slice(-5).join("\n"),
  };
}

/**
 * pgbench counts transactions, not seats: a booking script that found its slot full still
 * commits nothing and counts as one. The bookings made come from the database; the difference
 * is recorded as SLOT_FULL answers, as the other modes would see them.
 */
export function accountBookings(recorder: Recorder, booked: number): void {
  const attempts = recorder.statuses.get("book OK") ?? 0;
  const full = Math.max(0, attempts - booked);
  recorder.booked = booked;
  if (full > 0) {
    recorder.statuses.set("book OK", attempts - full);
    recorder.statuses.set("book SLOT_FULL", full);
    recorder.errors += full;
  }
}
