// The local stack's backup agent (scripts/stack.d/pgbackrest.sh starts it): takes the scheduled
// pgBackRest backups and serves their state as Prometheus metrics.
//
// Why a process of its own and not cron plus a textfile: the stack runs without system services
// (no cron, no node_exporter), and the metrics must say what pgBackRest's repository holds, which
// only `pgbackrest info` knows; one small process both schedules and reports, so a backup that
// stopped happening shows as a growing age, whoever was supposed to take it.
//
// Settings (environment): BACKUP_AGENT_CONFIG (pgbackrest.conf), BACKUP_AGENT_PORT,
// BACKUP_AGENT_SOCKET (PostgreSQL's socket directory), BACKUP_AGENT_TARGETS (JSON: [{stanza,
// members: [{name, port}]}]), CLINIC_BACKUP_FULL_AT (HH:MM UTC of the daily full backup), CLINIC_BACKUP_INCR_SECONDS,
// BACKUP_AGENT_SCHEDULE (on/off: off only reports).
"use strict";
const { execFile } = require("node:child_process");
const http = require("node:http");
const path = require("node:path");

const root = path.join(__dirname, "..", "..", "..");
const { Client } = require(require.resolve("pg", { paths: [root] }));

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`backup-agent: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
};
const config = required("BACKUP_AGENT_CONFIG");
const port = Number(required("BACKUP_AGENT_PORT"));
const socket = required("BACKUP_AGENT_SOCKET");
const targets = JSON.parse(required("BACKUP_AGENT_TARGETS"));
const [fullHour, fullMinute] = (process.env.CLINIC_BACKUP_FULL_AT ?? "02:00").split(":").map(Number);
const incrementalMs = Number(process.env.CLINIC_BACKUP_INCR_SECONDS ?? 3600) * 1000;
const scheduling = (process.env.BACKUP_AGENT_SCHEDULE ?? "on") === "on";
const POLL_MS = 15_000;

const log = (msg, extra = {}) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);

// Without the libpq settings of whoever started the stack: they would override where and as whom
// pgBackRest connects.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^PG(HOST|HOSTADDR|PORT|USER|PASSWORD|DATABASE|SERVICE|OPTIONS)$/.test(key)));

/** pgBackRest as `postgres`, which owns the data directories it reads. */
function pgbackrest(args) {
  return new Promise((resolve, reject) => {
    execFile("runuser", ["-u", "postgres", "--", "pgbackrest", `--config=${config}`, ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr: String(stderr).trim() })) : resolve(String(stdout)),
    );
  });
}

// State, refreshed every POLL_MS and read by /metrics.
let info = new Map(); // stanza -> the stanza's entry of `pgbackrest info --output=json`
let infoOk = 0;
const archiver = new Map(); // "stanza/member" -> pg_stat_archiver row, or null when unreachable
const runs = new Map(); // "stanza/type/result" -> count
let running; // { stanza, type, since } while a scheduled backup runs

async function refreshInfo() {
  try {
    const parsed = JSON.parse(await pgbackrest(["--output=json", "info"]));
    info = new Map(parsed.map((stanza) => [stanza.name, stanza]));
    infoOk = 1;
  } catch (err) {
    infoOk = 0;
    log("pgbackrest info failed", { error: err.stderr || String(err) });
  }
}

async function refreshArchiver() {
  for (const { stanza, members } of targets) {
    for (const member of members) {
      const client = new Client({ host: socket, port: member.port, user: "postgres", database: "postgres", connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        const { rows } = await client.query(
          `SELECT archived_count, failed_count,
                  extract(epoch FROM last_archived_time) AS last_archived, extract(epoch FROM last_failed_time) AS last_failed,
                  pg_is_in_recovery() AS standby
             FROM pg_stat_archiver`,
        );
        archiver.set(`${stanza}/${member.name}`, rows[0]);
      } catch {
        archiver.set(`${stanza}/${member.name}`, null);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }
}

/** Backups that completed without error, newest last. */
const goodBackups = (stanza) => (info.get(stanza)?.backup ?? []).filter((b) => !b.error);

/** The last moment the daily full backup was due (today's HH:MM UTC, or yesterday's). */
function lastFullDue(now) {
  const due = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), fullHour, fullMinute));
  if (due > now) due.setUTCDate(due.getUTCDate() - 1);
  return due;
}

/** The type of backup a stanza needs now, if any. */
function dueBackup(stanza, now) {
  const backups = goodBackups(stanza);
  const fulls = backups.filter((b) => b.type === "full");
  const lastFull = fulls.at(-1);
  if (!lastFull || lastFull.timestamp.stop * 1000 < lastFullDue(now).getTime()) return "full";
  const last = backups.at(-1);
  if (now.getTime() - last.timestamp.stop * 1000 >= incrementalMs) return "incr";
  return undefined;
}

async function runSchedule() {
  for (const { stanza } of targets) {
    if (!info.has(stanza)) continue; // no stanza (yet): nothing to back up into
    const type = dueBackup(stanza, new Date());
    if (!type) continue;
    running = { stanza, type, since: Date.now() };
    log("backup started", { stanza, type });
    let result = "success";
    try {
      await pgbackrest([`--stanza=${stanza}`, `--type=${type}`, "backup"]);
      log("backup finished", { stanza, type, seconds: (Date.now() - running.since) / 1000 });
    } catch (err) {
      // Exit code 50: another backup of this stanza holds the lock (an operator's `scripts/stack
      // backup`); it is not a failure, the next round looks again.
      result = err.code === 50 ? "skipped" : "failure";
      log(`backup ${result}`, { stanza, type, error: err.stderr || String(err) });
    }
    const key = `${stanza}/${type}/${result}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    running = undefined;
    await refreshInfo();
  }
}

let stopped = false;
async function loop() {
  while (!stopped) {
    await refreshInfo();
    await refreshArchiver();
    if (scheduling) await runSchedule();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
  }
}

const esc = (value) => String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"');
function metrics() {
  const lines = [];
  const metric = (name, help, type, samples) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const text = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",");
      lines.push(`${name}${text ? `{${text}}` : ""} ${value}`);
    }
  };
  metric("pgbackrest_info_up", "1 when the last `pgbackrest info` of the repository succeeded", "gauge", [[{}, infoOk]]);
  const stanzas = targets.map((t) => t.stanza);
  metric("pgbackrest_stanza_status", "pgBackRest's status code of the stanza (0 ok, 2 no valid backups, other values errors)", "gauge",
    stanzas.filter((s) => info.has(s)).map((s) => [{ stanza: s }, info.get(s).status.code]));
  metric("pgbackrest_backups", "Backups in the repository that completed without error", "gauge",
    stanzas.filter((s) => info.has(s)).map((s) => [{ stanza: s }, goodBackups(s).length]));
  const last = (s, type) => goodBackups(s).filter((b) => !type || b.type === type).at(-1);
  metric("pgbackrest_last_good_backup_timestamp_seconds", "End of the newest backup that completed without error (any type)", "gauge",
    stanzas.filter((s) => last(s)).map((s) => [{ stanza: s }, last(s).timestamp.stop]));
  metric("pgbackrest_last_backup_timestamp_seconds", "End of the newest good backup per type", "gauge",
    stanzas.flatMap((s) => ["full", "diff", "incr"].filter((t) => last(s, t)).map((t) => [{ stanza: s, type: t }, last(s, t).timestamp.stop])));
  metric("pgbackrest_last_backup_duration_seconds", "Duration of the newest good backup", "gauge",
    stanzas.filter((s) => last(s)).map((s) => [{ stanza: s }, last(s).timestamp.stop - last(s).timestamp.start]));
  metric("pgbackrest_last_backup_size_bytes", "Size in the repository of the newest good backup (compressed)", "gauge",
    stanzas.filter((s) => last(s)).map((s) => [{ stanza: s }, last(s).info.repository.delta]));
  metric("pgbackrest_scheduled_backups_total", "Backups the agent started, by result (success, failure, skipped)", "counter",
    [...runs].map(([key, count]) => {
      const [stanza, type, result] = key.split("/");
      return [{ stanza, type, result }, count];
    }));
  metric("pgbackrest_backup_running", "1 while the agent's backup of the stanza runs", "gauge",
    stanzas.map((s) => [{ stanza: s }, running?.stanza === s ? 1 : 0]));
  const members = [...archiver].filter(([, row]) => row);
  const split = (key) => ({ stanza: key.split("/")[0], member: key.split("/")[1] });
  metric("pg_archiver_up", "1 when the member's pg_stat_archiver could be read", "gauge",
    [...archiver].map(([key, row]) => [split(key), row ? 1 : 0]));
  metric("pg_archiver_archived_total", "WAL segments the member archived (pg_stat_archiver, since its last stats reset)", "counter",
    members.map(([key, row]) => [split(key), row.archived_count]));
  metric("pg_archiver_failed_total", "Failed attempts of the member to archive a WAL segment", "counter",
    members.map(([key, row]) => [split(key), row.failed_count]));
  metric("pg_archiver_last_archived_timestamp_seconds", "When the member last archived a segment", "gauge",
    members.filter(([, row]) => row.last_archived !== null).map(([key, row]) => [split(key), Number(row.last_archived)]));
  metric("pg_archiver_last_failed_timestamp_seconds", "When the member last failed to archive a segment", "gauge",
    members.filter(([, row]) => row.last_failed !== null).map(([key, row]) => [split(key), Number(row.last_failed)]));
  return `${lines.join("\n")}\n`;
}

const server = http.createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(metrics());
  } else {
    res.writeHead(404).end();
  }
});
server.listen(port, "127.0.0.1", () => log("backup agent listening", { port, scheduling }));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    stopped = true;
    server.close();
    // A running pgBackRest child gets the signal through the process group and stops cleanly.
    process.exit(0);
  });
}
void loop();
