import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { createScratchDatabase, stackServiceEnv, type ScratchDatabase } from "@clinic/test-stack";
import { migrations } from "../migrations";

/**
 * `node dist/src/migrate.js`, the chart's migrate init container: booking's migrations on every
 * shard of BOOKING_SHARDS, then exit 0; again, nothing to do; a shard it cannot reach, exit 1
 * naming the cause (the pod stays at Init:Error and the rollout stops there).
 */
const ENTRY = path.join(__dirname, "../dist/src/migrate.js");
let shards: ScratchDatabase[];

beforeAll(async () => {
  shards = [await createScratchDatabase("booking_migrate_0"), await createScratchDatabase("booking_migrate_1")];
});
afterAll(async () => {
  await Promise.all((shards ?? []).map((s) => s.drop()));
});

function migrate(bookingShards: string): { status: number | null; lines: { database?: string; applied?: string[] }[]; stderr: string } {
  const run = spawnSync(process.execPath, [ENTRY], {
    cwd: path.join(__dirname, ".."),
    env: { PATH: process.env["PATH"] ?? "", NODE_ENV: "production", ...stackServiceEnv(), BOOKING_SHARDS: bookingShards },
    encoding: "utf8",
    timeout: 60_000,
  });
  const lines = run.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { database?: string; applied?: string[] });
  return { status: run.status, lines, stderr: run.stderr };
}

test("migrates every shard, then finds nothing to do", async () => {
  const first = migrate(shards.map((s) => s.name).join(","));
  expect([first.status, first.stderr]).toEqual([0, ""]);
  const all = migrations.map((m) => m.name);
  expect(first.lines.map((l) => [l.database, l.applied])).toEqual([
    ["shard 0", all],
    ["shard 1", all],
  ]);
  for (const shard of shards) {
    const { rows } = await shard.knex.raw<{ rows: { name: string }[] }>("SELECT name FROM knex_migrations ORDER BY id");
    expect(rows.map((r) => r.name)).toEqual(all);
  }
  const again = migrate(shards.map((s) => s.name).join(","));
  expect([again.status, again.lines.map((l) => l.applied)]).toEqual([0, [[], []]]);
}, 120_000);

test("a shard it cannot reach fails the run, naming the cause", () => {
  const failed = migrate(`${shards[0]!.name},t_no_such_shard`);
  expect(failed.status).toBe(1);
  expect(failed.stderr).toMatch(/booking migrations: start-up failed: .*database "t_no_such_shard" does not exist/);
}, 120_000);
