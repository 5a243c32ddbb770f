import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { isolatedStackEnv } from "@clinic/test-stack";

const run = promisify(execFile);
const repo = path.join(__dirname, "..");

/**
 * scripts/stack with state of its own: values it generates or keeps must never be read as
 * options, and a component whose saved state stops it from starting says how to recover.
 */
describe("scripts/stack", () => {
  jest.setTimeout(300_000);
  const stateDir = mkdtempSync(path.join(tmpdir(), "clinic-stack-"));
  const env = isolatedStackEnv(stateDir);
  const stack = (...args: string[]) => run("bash", [path.join(repo, "scripts/stack"), ...args], { env, timeout: 240_000 });
  const kafkaDir = path.join(stateDir, "kafka");

  afterAll(async () => {
    await stack("reset").catch(() => undefined);
  });

  it("formats Kafka's storage with a cluster id that starts with '-'", async () => {
    // One base64url id in 64 starts with "-"; Kafka's argument parser used to take it for an option.
    const id = "-x_sjCy8qGrp6Lmvwsn8Fg";
    mkdirSync(kafkaDir, { recursive: true });
    writeFileSync(path.join(kafkaDir, "cluster.id"), id);
    await stack("up", "kafka");
    expect(readFileSync(path.join(kafkaDir, "data", "meta.properties"), "utf8")).toContain(`cluster.id=${id}`);
    await stack("down", "kafka");
  });

  it("says how to recover when saved state stops a component, and `reset <component>` recovers", async () => {
    // Storage formatted for another node: the broker refuses to start, on every run.
    const meta = path.join(kafkaDir, "data", "meta.properties");
    writeFileSync(meta, readFileSync(meta, "utf8").replace(/^node\.id=.*$/m, "node.id=7"));
    const failed = await stack("up", "kafka").then(
      () => undefined,
      (err: { stderr: string }) => err.stderr,
    );
    expect(failed).toBeDefined();
    expect(failed).toContain(`CLINIC_STATE_DIR=${stateDir} scripts/stack reset kafka`);

    const { stdout } = await stack("reset", "kafka");
    expect(stdout).toMatch(/^kafka +removed /m);
    await stack("up", "kafka");
    // A fresh id, made the way Kafka makes them.
    const id = readFileSync(path.join(kafkaDir, "cluster.id"), "utf8");
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(readFileSync(meta, "utf8")).toContain(`cluster.id=${id}`);
  });

  describe("a Patroni member whose saved state stops it", () => {
    // One shard of one member: the smallest cluster that shows the failure and the recovery.
    const patroniDir = mkdtempSync(path.join(tmpdir(), "clinic-stack-patroni-"));
    const patroniEnv = { ...isolatedStackEnv(patroniDir), CLINIC_BOOKING_SHARDS: "1", CLINIC_PATRONI_MEMBERS: "1" };
    const patroni = (...args: string[]) => run("bash", [path.join(repo, "scripts/stack"), ...args], { env: patroniEnv, timeout: 240_000 });
    const failureOf = (...args: string[]) =>
      patroni(...args).then(
        () => undefined,
        (err: { stderr: string }) => err.stderr,
      );
    const portOf = (file: string, name: string) => Number(new RegExp(`^${name}=(\\d+)$`, "m").exec(readFileSync(file, "utf8"))![1]);
    const initializeKey = () => `http://127.0.0.1:${portOf(path.join(patroniDir, "ports.env"), "CLINIC_ETCD_PORT")}/v2/keys/clinic/clinic-booking-0/initialize`;
    const hint = `CLINIC_STATE_DIR=${patroniDir} scripts/stack reset patroni`;

    afterAll(async () => {
      await patroni("reset").catch(() => undefined);
    });

    it("prints patroni's recovery hint, and following it (`reset patroni`, then up) recovers", async () => {
      await patroni("up", "patroni");
      await patroni("down", "patroni");
      // The cluster's key in etcd names another system: the member refuses to start, on every run.
      const put = await fetch(initializeKey(), { method: "PUT", body: new URLSearchParams({ value: "7000000000000000001" }) });
      expect(put.ok).toBe(true);
      const failed = await failureOf("up", "patroni");
      expect(failed).toContain("stack: booking-0-m0: exited during startup");
      expect(failed).toContain("system ID mismatch");
      expect(failed).toContain("start patroni from scratch (deletes every booking shard's data on every member, and the clusters' keys in etcd)");
      expect(failed).toContain(hint);

      // The hint's reset clears the keys as well as the data: a new member would otherwise wait
      // forever for a leader of the cluster the key describes.
      const { stdout } = await patroni("reset", "patroni");
      expect(stdout).toMatch(/^patroni +cleared its clusters in etcd/m);
      expect(stdout).toMatch(/^patroni +removed /m);
      await patroni("up", "patroni");
      const key = (await (await fetch(initializeKey())).json()) as { node: { value: string } };
      expect(key.node.value).toMatch(/^\d+$/);
      expect(key.node.value).not.toBe("7000000000000000001");
    });

    it("prints no reset hint when the saved state cannot be the cause (a port in use)", async () => {
      await patroni("down", "patroni");
      const pgPort = portOf(path.join(patroniDir, "patroni", "ports.env"), "PG_0_0");
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(pgPort, "127.0.0.1", resolve));
      try {
        const failed = await failureOf("up", "patroni");
        expect(failed).toContain(`port ${pgPort}`);
        expect(failed).toContain("already in use");
        expect(failed).not.toContain("scripts/stack reset");
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
      await patroni("up", "patroni");
    });
  });

  describe("a state dir whose path has a space and a quote", () => {
    const parent = mkdtempSync(path.join(tmpdir(), "clinic-stack-"));
    const spacedDir = path.join(parent, "with space", "it's");
    const spacedEnv = { ...isolatedStackEnv(spacedDir), CLINIC_BOOKING_HA: "none", CLINIC_BOOKING_SHARDS: "1" };
    const spaced = (...args: string[]) => run("bash", [path.join(repo, "scripts/stack"), ...args], { env: spacedEnv, timeout: 240_000 });
    const port = () => /^CLINIC_PG_PORT=(\d+)$/m.exec(readFileSync(path.join(spacedDir, "ports.env"), "utf8"))![1]!;
    // As the superuser over the cluster's socket: pg_switch_wal is not for the services' role. No
    // PG* settings of the test stack's (its PGUSER above all) may reach psql.
    const psqlEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PG")));
    const superuser = async (sql: string) =>
      (
        await run("runuser", ["-u", "postgres", "--", "psql", "-X", "-At", "-U", "postgres", "-h", path.join(spacedDir, "postgres", "run"), `--port=${port()}`, "-d", "postgres", "-c", sql], {
          env: psqlEnv,
        })
      ).stdout.trim();
    const archiver = async () => {
      const [archived, failed] = (await superuser("SELECT archived_count, failed_count FROM pg_stat_archiver")).split("|").map(Number);
      return { archived: archived!, failed: failed! };
    };
    const untilArchived = async (count: number) => {
      for (let i = 0; i < 100 && (await archiver()).archived < count; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      return archiver();
    };

    afterAll(async () => {
      await spaced("reset").catch(() => undefined);
      rmSync(parent, { recursive: true, force: true });
    });

    it("archives WAL from PostgreSQL, before and after pgBackRest's stanza exists", async () => {
      await spaced("up", "postgres");
      const before = await archiver();
      expect(before.failed).toBe(0);
      await superuser("CREATE TABLE IF NOT EXISTS wal_mark (x int); INSERT INTO wal_mark VALUES (1)");
      await superuser("SELECT pg_switch_wal()");
      const letGo = await untilArchived(before.archived + 1);
      expect(letGo).toEqual({ archived: before.archived + 1, failed: 0 });

      // With the stanza, each segment is pushed into the repository in the state dir.
      await spaced("up", "pgbackrest");
      await superuser("INSERT INTO wal_mark VALUES (2)");
      const segment = await superuser("SELECT pg_walfile_name(pg_current_wal_lsn())");
      await superuser("SELECT pg_switch_wal()");
      const pushed = await untilArchived(letGo.archived + 1);
      expect(pushed.failed).toBe(0);
      expect(pushed.archived).toBeGreaterThan(letGo.archived);
      const archive = path.join(spacedDir, "pgbackrest", "repo", "archive", "services");
      const { stdout } = await run("find", [archive, "-name", `${segment}-*`]);
      expect(stdout.trim()).not.toBe("");
    });
  });
});
