import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { eventually, expectError, Fixtures, Http, type Stack, startStackWithFixtures } from "@clinic/test-stack";

/**
 * The dashboards and alert rules in deploy/observability against what the services really
 * export: real traffic through the edge (bookings, a full slot, a 404, cached reads, events to
 * the notifier), then every service's /metrics is scraped. A query over a metric nobody exports
 * would show an empty panel or an alert that can never fire; this test fails instead.
 */

const OBSERVABILITY = path.join(__dirname, "..", "deploy", "observability");
const SERVICES = ["edge", "doctor", "slot", "booking", "notifier"] as const;
type ServiceName = (typeof SERVICES)[number];

/**
 * Series that no service exports, on purpose: `up` and `ALERTS` are Prometheus' own,
 * `pg_replication_lag_seconds` comes from postgres_exporter on the Patroni clusters in the
 * cluster, `patroni_*` from each Patroni member's REST API (scraped as job `patroni`), and
 * `pgbackrest_*` and `pg_archiver_*` from the backup agent (job `backup`; its metrics are checked
 * against real backups in test/backup-restore.test.ts).
 */
const EXTERNAL_METRICS = new Set(["up", "ALERTS", "pg_replication_lag_seconds"]);
const isExternal = (name: string): boolean =>
  EXTERNAL_METRICS.has(name) || name.startsWith("patroni_") || name.startsWith("pgbackrest_") || name.startsWith("pg_archiver_");

// ------------------------------------------------------------------ the exposition format

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Scrape {
  /** Metric families declared with `# TYPE`, histogram/summary families with their series names. */
  names: Set<string>;
  samples: Sample[];
}

function parseExposition(text: string): Scrape {
  const names = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
      if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    names.add(m[1]!);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { names, samples };
}

async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET :${port}/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

/** Sum of the samples of `name` whose labels include `match`. */
function total(scrape: Scrape, name: string, match: Record<string, string> = {}): number {
  return scrape.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

// ------------------------------------------------------------------ PromQL in the repo

const PROMQL_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"]);

/**
 * Metric names used by a PromQL expression: identifiers that are not functions or aggregations
 * (followed by `(`), keywords, label names (inside `{}` or a `by (...)`-style list), durations
 * or Grafana variables. Good enough for the queries written here; not a PromQL parser.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m as unknown as [string, string, string | undefined];
    if (call || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

interface RuleFile {
  exprs: string[];
  records: Set<string>;
}

/**
 * `expr:` values and `record:` names of alerts.yml, read line by line (no YAML library in the
 * workspace): an expr is either on its line or a `|` block of more-indented lines below it.
 */
function readRules(file: string): RuleFile {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const exprs: string[] = [];
  const records = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const record = /^\s*- record:\s*(\S+)\s*$/.exec(line);
    if (record) records.add(record[1]!);
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) continue;
    const indent = m[1]!.length;
    if (!/^[|>][-+]?$/.test(m[2]!.trim())) {
      exprs.push(m[2]!);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === "" || lines[i + 1]!.search(/\S/) > indent)) block.push(lines[++i]!);
    exprs.push(block.join("\n"));
  }
  return { exprs, records };
}

function dashboardQueries(): { file: string; title: string; expr: string }[] {
  const dir = path.join(OBSERVABILITY, "grafana", "dashboards");
  const out: { file: string; title: string; expr: string }[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const dashboard = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    const panels = (dashboard.panels as any[]).flatMap((p) => [p, ...(p.panels ?? [])]);
    for (const p of panels) for (const t of p.targets ?? []) out.push({ file, title: p.title, expr: t.expr });
    for (const v of dashboard.templating?.list ?? []) {
      // label_values(metric, label) names a metric too.
      const lv = typeof v.definition === "string" ? /label_values\((\w+)\s*,/.exec(v.definition) : null;
      if (lv) out.push({ file, title: `variable ${v.name}`, expr: lv[1]! });
    }
  }
  return out;
}

describe("PromQL metric-name extraction", () => {
  it("keeps metric names and drops functions, keywords, labels, durations and variables", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{route!~"/healthz|/readyz",le="0.5"}[$__rate_interval])))\n' +
          "or on (service) max without (state) (db_pool_connections{state=\"used\"}) / db_pool_max_connections > bool 0.8 and count(ALERTS) or vector(0)\n" +
          "and service:requests:rate5m >= 1e3",
      ).sort(),
    ).toEqual(["ALERTS", "db_pool_connections", "db_pool_max_connections", "http_request_duration_seconds_bucket", "service:requests:rate5m"]);
  });
});

// ------------------------------------------------------------------ the test

describe("observability: dashboards and alerts against real metrics", () => {
  const suffix = randomBytes(4).toString("hex");
  const topics = { eventsTopic: `test.obs.booking-events.${suffix}`, dlqTopic: `test.obs.dlq.${suffix}`, group: `test-obs-notifier-${suffix}` };
  let stack: Stack, http: Http, make: Fixtures;
  let ports: Record<ServiceName, number>;
  const scrapes = {} as Record<ServiceName, Scrape>;
  const scrapeAll = async () => {
    for (const s of SERVICES) scrapes[s] = await scrape(ports[s]);
  };

  beforeAll(async () => {
    ({ stack, http, make } = await startStackWithFixtures({ name: "obs", notifier: topics }));
    const missing = SERVICES.filter((service) => stack.metricsPorts[service] === undefined);
    if (missing.length > 0) throw new Error(`no metrics port for ${missing.join(", ")}`);
    ports = stack.metricsPorts as Record<ServiceName, number>;

    // Traffic: a slot with one seat booked and refused, one booked, confirmed and cancelled, a
    // 404, reads repeated so the caches hit, and events on their way to the notifier.
    const doctor = await make.doctor("cardiology");
    const single = await make.slot(doctor.id, { capacity: 1 });
    const double = await make.slot(doctor.id, { capacity: 2 });
    const contact = { patientContact: `obs-${suffix}@example.org`, patientPhone: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}` };
    expect((await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(single.id, contact))).status).toBe(201);
    expectError(await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(single.id)), 409, "SLOT_FULL");
    const booked = await http.asPatient(randomUUID()).post("/api/v1/bookings", make.bookingBody(double.id, contact));
    expect(booked.status).toBe(201);
    expect((await http.post(`/api/v1/bookings/${booked.body.id}/confirm`)).status).toBe(200);
    expect((await http.post(`/api/v1/bookings/${booked.body.id}/cancel`)).status).toBe(200);
    expectError(await http.get(`/api/v1/bookings/${randomUUID()}`), 404, "BOOKING_NOT_FOUND");
    const reads = async () => {
      expect((await http.get(`/api/v1/availability?slotIds=${single.id},${double.id}`)).status).toBe(200);
      expect((await http.get(`/api/v1/slots/${single.id}`)).status).toBe(200);
      expect((await http.get(`/api/v1/doctors/${doctor.id}/slots`)).status).toBe(200);
      expect((await http.get("/api/v1/doctors")).status).toBe(200);
    };
    await reads();

    // The outbox relays and the notifier work asynchronously, and their events may invalidate a
    // cache entry between two reads: read again until the counters show all of it.
    await eventually(async () => {
      await reads();
      await scrapeAll();
      const done =
        total(scrapes.booking, "outbox_published_total") >= 4 &&
        total(scrapes.slot, "outbox_published_total") >= 1 &&
        total(scrapes.notifier, "notifications_total", { outcome: "sent" }) >= 2 &&
        total(scrapes.booking, "cache_requests_total", { cache: "availability", result: "hit" }) > 0;
      return done ? true : undefined;
    }, 30_000, 250);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("finds a metrics endpoint per service, each labelling its series with its own name", () => {
    for (const s of SERVICES) {
      const own = scrapes[s].samples.filter((x) => x.name === "process_cpu_seconds_total");
      expect(own.map((x) => x.labels["service"])).toEqual([s]);
    }
  });

  it("exports every metric that a dashboard panel or an alert rule queries", () => {
    const exported = new Set(SERVICES.flatMap((s) => [...scrapes[s].names]));
    const rules = readRules(path.join(OBSERVABILITY, "prometheus", "alerts.yml"));
    expect(rules.exprs.length).toBeGreaterThan(20);
    const queries = [...rules.exprs.map((expr) => ({ file: "alerts.yml", title: "rule", expr })), ...dashboardQueries()];
    expect(queries.length).toBeGreaterThan(80);

    const missing: string[] = [];
    const seen = new Set<string>();
    for (const q of queries) {
      for (const name of metricNames(q.expr)) {
        seen.add(name);
        if (isExternal(name)) continue;
        // Recording rules: defined in alerts.yml (their inputs are checked through its exprs).
        const ok = name.includes(":") ? rules.records.has(name) : exported.has(name);
        if (!ok) missing.push(`${name} (${q.file}: ${q.title})`);
      }
    }
    expect(missing).toEqual([]);
    // The extraction found the names it should, so an empty `missing` means something.
    for (const name of ["http_requests_total", "grpc_server_handling_seconds_bucket", "booking_outcomes_total", "db_pool_max_connections", "outbox_oldest_age_seconds", "cache_requests_total", "notifier_consumer_lag", "dlq_messages_total", "service:request_error_ratio:rate5m"]) {
      expect(seen).toContain(name);
    }
  });

  it("counts the traffic on the key metrics of design section 7.1", () => {
    const { edge, booking } = scrapes;
    // Requests per route and status at the edge.
    expect(total(edge, "http_requests_total", { method: "POST", route: "/api/v1/bookings", status_code: "201" })).toBeGreaterThanOrEqual(2);
    expect(total(edge, "http_requests_total", { method: "POST", route: "/api/v1/bookings", status_code: "409" })).toBeGreaterThanOrEqual(1);
    expect(total(edge, "http_requests_total", { method: "GET", route: "/api/v1/bookings/:bookingId", status_code: "404" })).toBeGreaterThanOrEqual(1);
    expect(total(edge, "http_requests_total", { method: "GET", route: "/api/v1/availability", status_code: "200" })).toBeGreaterThanOrEqual(2);
    expect(total(edge, "http_request_duration_seconds_count", { route: "/api/v1/bookings" })).toBeGreaterThanOrEqual(3);
    // gRPC on the booking path, including the refused seat.
    expect(total(booking, "grpc_server_handled_total", { grpc_method: "CreateBooking", grpc_code: "OK" })).toBeGreaterThanOrEqual(2);
    expect(total(booking, "grpc_server_handled_total", { grpc_method: "CreateBooking" })).toBeGreaterThanOrEqual(3);
    expect(total(booking, "grpc_server_handling_seconds_count", { grpc_method: "CreateBooking" })).toBeGreaterThanOrEqual(3);
    // The booking funnel.
    const outcomes = Object.fromEntries(["held", "confirmed", "cancelled", "rejected_full"].map((o) => [o, total(booking, "booking_outcomes_total", { outcome: o })]));
    expect(outcomes).toEqual({ held: 2, confirmed: 1, cancelled: 1, rejected_full: 1 });
  });

  it("reports every database pool: up, pool size and use, query latency", () => {
    const pools: [ServiceName, string][] = [["doctor", "doctor"], ["slot", "slot"], ["notifier", "notifier"], ...[0, 1, 2, 3].map((i): [ServiceName, string] => ["booking", `booking-shard-${i}`])];
    for (const [service, pool] of pools) {
      const s = scrapes[service];
      expect([pool, total(s, "db_up", { pool })]).toEqual([pool, 1]);
      expect([pool, total(s, "db_pool_max_connections", { pool }) > 0]).toEqual([pool, true]);
      for (const state of ["used", "free", "pending"]) {
        expect(s.samples.some((x) => x.name === "db_pool_connections" && x.labels["pool"] === pool && x.labels["state"] === state)).toBe(true);
      }
    }
    for (const service of ["doctor", "slot", "booking", "notifier"] as const) {
      expect([service, total(scrapes[service], "db_query_duration_seconds_count", { outcome: "ok" }) > 0]).toEqual([service, true]);
    }
  });

  it("counts outbox events published, cache hits and misses, and notifications sent", () => {
    const { doctor, slot, booking, notifier } = scrapes;
    // created + confirmed + cancelled + created: at least four booking events relayed.
    expect(total(booking, "outbox_published_total")).toBeGreaterThanOrEqual(4);
    // Two slots published.
    expect(total(slot, "outbox_published_total")).toBeGreaterThanOrEqual(1);
    expect(doctor.names).toContain("outbox_published_total");
    // The second round of reads found what the first put in the cache.
    const cache = (result: string) => SERVICES.reduce((sum, s) => sum + total(scrapes[s], "cache_requests_total", { result }), 0);
    expect(cache("miss")).toBeGreaterThan(0);
    expect(cache("hit")).toBeGreaterThan(0);
    expect(total(booking, "cache_requests_total", { cache: "availability", result: "hit" })).toBeGreaterThan(0);
    // One e-mail and one SMS for the first booking at least.
    expect(total(notifier, "notifications_total", { outcome: "sent", channel: "email" })).toBeGreaterThanOrEqual(1);
    expect(total(notifier, "notifications_total", { outcome: "sent", channel: "sms" })).toBeGreaterThanOrEqual(1);
    expect(total(notifier, "notification_send_seconds_count")).toBeGreaterThanOrEqual(2);
  });
});
