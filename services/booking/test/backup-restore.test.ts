import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { createDatabase, migrateLatest, runPrepared, type Knex } from "@clinic/platform/db";
import { OUTBOX_CHANNEL, writeOutbox } from "@clinic/platform/outbox";
import { eventually, isolatedStackEnv, readStackSettings, repoRoot, slotAhead, testLogger } from "@clinic/test-stack";
import { Client } from "pg";
import { migrations } from "../migrations";
import { decodeBookingId, newBookingId } from "../src/booking-id";
import { BookingShardRepository } from "../src/booking-repository";
import { ensureMonthlyPartitions } from "../src/partitions";
import type { SlotInfo } from "../src/slot-directory";

const run = promisify(execFile);

/**
 * Backups of a booking shard, end to end, on a private stack: one shard as a Patroni cluster of a
 * primary and a synchronous standby (the backups are copied from the standby), PgBouncer in front
 * of the primary, pgBackRest with its backup agent, and the services' PostgreSQL. Bookings are
 * made with the booking service's own transaction (BookingShardRepository) through PgBouncer.
 */
const stateDir = path.join(repoRoot, ".state", "backup-restore-test");
const env = {
  ...isolatedStackEnv(stateDir),
  CLINIC_BOOKING_SHARDS: "1",
  CLINIC_PATRONI_MEMBERS: "2",
  // A segment is archived at least every 5 s when there were writes: the bound on the RPO here
  // (60 s by default).
  CLINIC_ARCHIVE_TIMEOUT: "5",
  CLINIC_PGBOUNCER_POOL_SIZE: "20",
};
const stack = (...args: string[]) => run("bash", [path.join(repoRoot, "scripts/stack"), ...args], { env, timeout: 600_000 });

const dbSettings = (host: string, port: number, poolMax: number, applicationName: string) => ({
  host,
  port,
  user: "clinic",
  password: "clinic",
  database: "clinic_booking_0",
  poolMin: 0,
  poolMax,
  statementTimeoutMs: 10_000,
  applicationName,
});
const hostPort = (entry: string): { host: string; port: number } => {
  const [host, port] = entry.split("/")[0]!.split(":");
  return { host: host!, port: Number(port) };
};

describe("backups of a booking shard (pgBackRest) and its pooler (PgBouncer)", () => {
  let settings: Record<string, string>;
  let direct: Knex;
  let pooled: Knex;
  let repo: BookingShardRepository;
  const measured: Record<string, string> = {};

  const openPools = () => {
    const primary = hostPort(settings.CLINIC_DB_BOOKING_SHARDS!);
    const bouncer = hostPort(settings.PGBOUNCER_ADDR!);
    direct = createDatabase(dbSettings(primary.host, primary.port, 4, "backup-restore-test-direct"));
    // 200: as many client connections as the load below has clients.
    pooled = createDatabase({ ...dbSettings(bouncer.host, bouncer.port, 200, "backup-restore-test-pooled"), transactionPooled: true });
    repo = new BookingShardRepository(0, pooled);
  };
  const closePools = async () => {
    await Promise.all([direct?.destroy(), pooled?.destroy()]);
  };

  beforeAll(async () => {
    await stack("reset").catch(() => undefined);
    await stack("up", "postgres", "etcd", "patroni", "haproxy", "pgbouncer", "pgbackrest");
    settings = readStackSettings(stateDir);
    openPools();
    await migrateLatest(direct, migrations);
    await ensureMonthlyPartitions(direct, testLogger());
  }, 600_000);

  afterAll(async () => {
    await closePools();
    await stack("reset").catch(() => undefined);
    if (Object.keys(measured).length > 0) process.stderr.write(`backup-restore measured: ${JSON.stringify(measured)}\n`);
  }, 120_000);

  const newSlot = (capacity: number): SlotInfo => slotAhead(capacity);

  /** `n` bookings at once; resolves to the ids the database acknowledged (committed). */
  async function book(slot: SlotInfo, n: number): Promise<string[]> {
    const outcomes = await Promise.all(
      Array.from({ length: n }, async () => {
        const id = newBookingId(0);
        return repo.create({
          id,
          createdAt: decodeBookingId(id)!.createdAt,
          slot,
          patientId: randomUUID(),
          patientName: "Grace Hopper",
          patientContact: "grace@example.org",
          patientPhone: "",
          holdTtlMs: 600_000,
          confirm: true,
        });
      }),
    );
    return outcomes.flatMap((o) => (o.kind === "created" ? [o.booking.id] : []));
  }

  const metricValue = async (name: string, labels: string): Promise<number | undefined> => {
    const text = await (await fetch(settings.BACKUP_METRICS_URL!)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(" ").at(-1));
  };

  /** Waits until the primary archived the WAL segment holding everything committed so far. */
  async function waitArchived(): Promise<number> {
    const started = Date.now();
    const { rows } = await direct.raw<{ rows: { file: string }[] }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS file");
    const file = rows[0]!.file;
    let archiver: Record<string, unknown> = {};
    await eventually(async () => {
      const { rows: archived } = await direct.raw<{ rows: { last: string | null }[] }>(
        "SELECT last_archived_wal AS last, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver",
      );
      archiver = archived[0] ?? {};
      // Same timeline: segment names order as their positions.
      return archived[0]?.last && archived[0].last.slice(0, 24) >= file ? true : undefined;
    }, 60_000, 200).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${file} not archived, pg_stat_archiver ${JSON.stringify(archiver)} (archive_command failures: see the member's log)`);
    });
    return Date.now() - started;
  }

  /** The shard's members as Patroni lists them (name and role). */
  async function members(): Promise<{ Member: string; Role: string }[]> {
    const conf = path.join(stateDir, "patroni", "booking-0-m0.yml");
    const { stdout } = await run("patronictl", ["-c", conf, "list", "--format", "json"], { timeout: 60_000 });
    return JSON.parse(stdout) as { Member: string; Role: string }[];
  }

  const restoredIds = async (port: number): Promise<{ ids: string[]; held: number }> => {
    const client = new Client({ host: "127.0.0.1", port, user: "clinic", password: "clinic", database: "clinic_booking_0" });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>("SELECT id FROM bookings ORDER BY id");
      const { rows: held } = await client.query<{ n: number }>("SELECT coalesce(sum(held), 0)::int AS n FROM slot_inventory");
      return { ids: rows.map((r) => r.id), held: held[0]!.n };
    } finally {
      await client.end();
    }
  };

  it("takes the first full backup on its own, and reports it and the WAL archive as metrics", async () => {
    await eventually(async () => ((await metricValue("pgbackrest_backups", 'stanza="booking-0"')) ?? 0) >= 1 || undefined, 180_000, 1_000);
    await eventually(async () => ((await metricValue("pgbackrest_backups", 'stanza="services"')) ?? 0) >= 1 || undefined, 180_000, 1_000);
    const last = await metricValue("pgbackrest_last_good_backup_timestamp_seconds", 'stanza="booking-0"');
    expect(Date.now() / 1000 - last!).toBeLessThan(600);
    expect(await metricValue("pg_archiver_failed_total", 'stanza="booking-0",member="booking-0-m0"')).toBe(0);
    // The backup was copied from the standby.
    const log = readFileSync(path.join(stateDir, "pgbackrest/log/booking-0-backup.log"), "utf8");
    expect(log).toMatch(/wait for replay on the standby/);
  }, 240_000);

  it("restores a shard to a noted time into a scratch cluster: exactly the bookings acknowledged before it", async () => {
    const { stdout: backup } = await stack("backup", "booking-0");
    expect(backup).toMatch(/^booking-0 +incr /m);

    const before = await book(newSlot(500), 40);
    expect(before).toHaveLength(40);
    // Taken after every acknowledgement above and before any booking below started.
    const { rows } = await pooled.raw<{ rows: { at: string }[] }>("SELECT clock_timestamp()::text AS at");
    const noted = rows[0]!.at;
    const after = await book(newSlot(500), 40);
    expect(after).toHaveLength(40);
    measured.rpoMs = String(await waitArchived());

    const started = Date.now();
    const { stdout } = await stack("restore", "--shard", "0", "--to", noted);
    measured.pitrRestoreMs = String(Date.now() - started);
    const match = /^scratch port=(\d+) dir=(\S+) seconds=\d+$/m.exec(stdout);
    expect(match).not.toBeNull();
    try {
      const restored = await restoredIds(Number(match![1]));
      expect(restored.ids).toEqual([...before].sort());
      expect(restored.held).toBe(before.length);
    } finally {
      await stack("restore", "--stop", match![2]!);
    }
  }, 300_000);

  it("keeps archiving and backing up after a switchover makes another member the primary", async () => {
    const leader = (await members()).find((m) => m.Role === "Leader")!.Member;
    const candidate = (await members()).find((m) => m.Role !== "Leader")!.Member;
    const conf = path.join(stateDir, "patroni", "booking-0-m0.yml");
    await run("patronictl", ["-c", conf, "switchover", `--leader=${leader}`, `--candidate=${candidate}`, "--force"], { timeout: 120_000 });
    await eventually(async () => ((await members()).find((m) => m.Role === "Leader")?.Member === candidate ? true : undefined), 60_000, 500);
    // The pools reach the new primary through HAProxy once it is checked healthy.
    await eventually(async () => ((await book(newSlot(10), 10)).length === 10 ? true : undefined), 60_000, 1_000);
    await waitArchived();
    const { stdout } = await stack("backup", "booking-0");
    expect(stdout).toMatch(/^booking-0 +incr /m);
  }, 300_000);

  it("rebuilds a shard from the backup alone after every member's data directory is deleted", async () => {
    const { rows } = await direct.raw<{ rows: { id: string }[] }>("SELECT id FROM bookings");
    const acknowledged = [...rows.map((r) => r.id), ...(await book(newSlot(100), 30))].sort();
    await waitArchived();
    await closePools();
    await stack("down", "pgbouncer", "haproxy", "patroni");
    for (const member of ["booking-0-m0", "booking-0-m1"]) rmSync(path.join(stateDir, "patroni", member, "data"), { recursive: true, force: true });

    const started = Date.now();
    const { stdout } = await stack("restore", "--shard", "0", "--in-place");
    expect(stdout).toMatch(/^restored booking-0 in place to the end of the archive/m);
    await stack("up", "haproxy", "pgbouncer");
    measured.inPlaceRestoreMs = String(Date.now() - started);
    openPools();
    const { rows: after } = await direct.raw<{ rows: { id: string }[] }>("SELECT id FROM bookings ORDER BY id");
    expect(after.map((r) => r.id)).toEqual(acknowledged);
    // The restored shard takes bookings again, through the pooler.
    expect(await book(newSlot(5), 5)).toHaveLength(5);
  }, 400_000);

  it("serves 200 concurrent booking clients with no more server connections than the pooler's pool", async () => {
    const slot = newSlot(150);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await direct.raw<{ rows: { n: number }[] }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'clinic_booking_0' AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> 'backup-restore-test-direct'",
        );
        peak = Math.max(peak, rows[0]!.n);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const clients = await Promise.all(Array.from({ length: 200 }, () => book(slot, 1)));
    sampling = false;
    await sampler;
    // Every client got its answer: 150 seats taken, 50 told the slot is full; no overbooking.
    expect(clients.flat()).toHaveLength(150);
    const [availability] = await repo.availability([slot.id]);
    expect(availability).toMatchObject({ capacity: 150, held: 150 });
    measured.peakServerConnections = String(peak);
    expect(peak).toBeLessThanOrEqual(20);
    const bouncer = hostPort(settings.PGBOUNCER_ADDR!);
    const admin = new Client({ host: bouncer.host, port: bouncer.port, user: "clinic", password: "clinic", database: "pgbouncer" });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ database: string; sv_active: string; sv_idle: string; sv_used: string; cl_active: string }>("SHOW POOLS");
      const pool = rows.find((r) => r.database === "clinic_booking_0")!;
      expect(Number(pool.sv_active) + Number(pool.sv_idle) + Number(pool.sv_used)).toBeLessThanOrEqual(20);
      expect(Number(pool.cl_active)).toBeGreaterThan(20); // the clients stay connected to PgBouncer
    } finally {
      await admin.end();
    }
  }, 120_000);

  it("runs the booking path's prepared statement unnamed through the pooler, where a named one breaks", async () => {
    const statement = { name: "backup_restore_probe", text: "SELECT $1::int AS n" };
    const bouncer = hostPort(settings.PGBOUNCER_ADDR!);
    // The same address without the marker: node-postgres prepares the name once per client
    // connection, PgBouncer hands the next use to whichever server connection is free.
    const unmarked = createDatabase(dbSettings(bouncer.host, bouncer.port, 200, "backup-restore-test-unmarked"));
    try {
      const named = await Promise.allSettled(Array.from({ length: 400 }, (_, i) => runPrepared(unmarked, statement, [i])));
      expect(named.filter((r) => r.status === "rejected").length).toBeGreaterThan(0);
    } finally {
      await unmarked.destroy();
    }
    const unnamed = await Promise.all(Array.from({ length: 400 }, (_, i) => runPrepared<{ n: number }>(pooled, statement, [i])));
    expect(unnamed.map((rows) => rows[0]!.n)).toEqual(Array.from({ length: 400 }, (_, i) => i));
  }, 60_000);

  it("keeps transaction advisory locks and NOTIFY working through the pooler; LISTEN goes around it", async () => {
    // A transaction-scoped advisory lock holds for its transaction, on whichever server
    // connection PgBouncer gave it.
    const lockKey = "backup-restore-test-lock";
    await pooled.transaction(async (first) => {
      const { rows: a } = await first.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked", [lockKey]);
      expect(a[0]!.locked).toBe(true);
      const { rows: b } = await pooled.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked", [lockKey]);
      expect(b[0]!.locked).toBe(false);
    });
    const { rows: c } = await pooled.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked", [lockKey]);
    expect(c[0]!.locked).toBe(true);

    // The outbox relay listens on the direct address; a booking's NOTIFY, sent through the
    // pooler at commit, reaches it.
    const primary = hostPort(settings.CLINIC_DB_BOOKING_SHARDS!);
    const listener = new Client({ ...primary, user: "clinic", password: "clinic", database: "clinic_booking_0" });
    await listener.connect();
    try {
      const notified = new Promise<string>((resolve) => listener.on("notification", (n) => resolve(n.channel)));
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      await pooled.transaction((trx) => writeOutbox(trx, [{ topic: "t", key: "k", type: "test", payload: new Uint8Array([1]) }]));
      await expect(notified).resolves.toBe(OUTBOX_CHANNEL);
    } finally {
      await listener.end();
    }
  }, 60_000);
});
