import { createScratchDatabase, databaseSettings, type ScratchDatabase } from "@clinic/test-stack";
import { Registry } from "prom-client";
import { createDatabase, createPoolMetrics } from "./database";

describe("database metrics (real PostgreSQL)", () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase("db_metrics");
  });
  afterAll(async () => {
    await db.drop();
  });

  it("reports pool size, availability and query latency", async () => {
    const registry = new Registry();
    const metrics = createPoolMetrics(registry);
    metrics.add("main", db.knex);
    await db.knex.raw("SELECT 1");
    await db.knex.raw("SELECT pg_sleep(0.02)");
    await expect(db.knex.raw("SELECT * FROM no_such_table")).rejects.toThrow();

    const text = await registry.metrics();
    expect(text).toMatch(/db_pool_max_connections\{pool="main"\} 10/);
    expect(text).toMatch(/db_up\{pool="main"\} 1/);
    expect(text).toMatch(/db_query_duration_seconds_count\{pool="main",outcome="ok"\} [2-9]/);
    expect(text).toMatch(/db_query_duration_seconds_count\{pool="main",outcome="error"\} 1/);
    expect(text).toMatch(/db_pool_connections\{pool="main",state="used"\} 0/);
  });

  it("reports a database that does not answer as down, quickly", async () => {
    const registry = new Registry();
    const unreachable = createDatabase({ ...databaseSettings("postgres"), port: 1, poolMax: 1 });
    createPoolMetrics(registry).add("gone", unreachable);
    const started = Date.now();
    expect(await registry.getSingleMetricAsString("db_up")).toMatch(/db_up\{pool="gone"\} 0/);
    expect(Date.now() - started).toBeLessThan(3_000);
    await unreachable.destroy();
  });
});
