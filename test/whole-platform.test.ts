import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { eventually, Http, launchBrowser, type PlatformProcesses, repoRoot, signIn, SseClient, startPlatform } from "@clinic/test-stack";
import type { Browser, Page } from "playwright-core";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** The dashboards' one source (deploy/observability/dashboards/), read as the generator reads it. */
interface SourcePanel {
  title: string;
  mayBeEmpty?: string;
  queries: { expr: string }[];
}
interface SourceDashboard {
  title: string;
  rows: { title: string; panels: SourcePanel[] }[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadDashboards, vmuiExpr } = require(path.join(repoRoot, "deploy/observability/dashboards/generate.js")) as {
  loadDashboards(): SourceDashboard[];
  vmuiExpr(expr: string): string;
};

interface ZipkinSpan {
  name: string;
  localEndpoint?: { serviceName?: string };
}

/**
 * The whole platform as separate processes (the repository's stack script, as `npm start` runs
 * it: Jaeger, Zipkin, Prometheus and VictoriaMetrics included), started once for the tests that
 * follow requests across processes: one booking is one trace in Jaeger, and the consoles an SRE
 * opens show what the platform did.
 */
describe("the whole platform as processes", () => {
  jest.setTimeout(600_000);
  let platform: PlatformProcesses;
  let settings: Record<string, string>;

  // The first admin's password as a person might choose it: spaces, quotes and a `$` must reach
  // the edge, stack.env and the README's walk-through intact.
  const adminPassword = `it's a "local" admin $password`;

  beforeAll(async () => {
    platform = await startPlatform(
      ["postgres", "redis", "kafka", "jaeger", "zipkin", "sinks", "pgbackrest", "doctor", "slot", "booking", "notifier", "edge", "prometheus", "victoriametrics"],
      process.env["CLINIC_PLATFORM_STATE_DIR"],
      { CLINIC_ADMIN_PASSWORD: adminPassword },
    );
    settings = platform.settings;
  });
  afterAll(async () => {
    await platform?.stop();
  });

  /**
   * One booking is one trace: a booking goes in over HTTP, and Jaeger's query API must show the
   * edge, booking, slot, PostgreSQL, the Kafka publish, the notifier's consume and its send in a
   * single trace.
   */
  describe("distributed tracing through Jaeger", () => {
    it("follows a booking from the HTTP request to the sent e-mail", async () => {
      const edgeUrl = settings["EDGE_URL"]!;
      expect(settings["ADMIN_PASSWORD"]).toBe(adminPassword);
      const http = await signIn(edgeUrl, settings["ADMIN_EMAIL"]!, settings["ADMIN_PASSWORD"]!);
      const patientEmail = `trace-${randomUUID()}@example.org`;
      expect((await new Http(edgeUrl).post("/api/v1/auth/register", { email: patientEmail, password: "trace-patient-password" })).status).toBe(201);
      const patient = await signIn(edgeUrl, patientEmail, "trace-patient-password");
      const doctor = await http.post("/api/v1/doctors", { name: "Dr. Trace", specialization: "radiology" });
      expect(doctor.status).toBe(201);
      const start = new Date(Date.now() + 48 * 3_600_000);
      start.setUTCMinutes(0, 0, 0);
      const slot = await http.post(`/api/v1/doctors/${doctor.body.id}/slots`, {
        startTime: start.toISOString(),
        endTime: new Date(start.getTime() + 1_800_000).toISOString(),
        capacity: 2,
      });
      expect(slot.status).toBe(201);
      // Book and confirm in one request: the slot lookup, the seat, the events and the
      // "confirmed" e-mail all belong to this one request's trace.
      const booking = await patient.post("/api/v1/bookings", {
        slotId: slot.body.id,
        patientName: "Trace Patient",
        patientContact: "trace@example.org",
        confirm: true,
      });
      expect(booking.status).toBe(201);
      expect(booking.body.status).toBe("confirmed");

      const jaeger = settings["JAEGER_QUERY_URL"]!;
      const trace = await eventually(
        async () => {
          const res = await fetch(`${jaeger}/api/traces?service=edge&operation=${encodeURIComponent("POST /api/v1/bookings")}&limit=20&lookback=1h`);
          if (!res.ok) return undefined;
          const { data } = (await res.json()) as { data: JaegerTrace[] };
          return data.find((t) => {
            const services = new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName));
            return ["edge", "booking", "slot", "notifier"].every((s) => services.has(s)) && t.spans.some((s) => s.operationName === "notification send email");
          });
        },
        90_000,
        1_000,
      );

      const services = new Set(trace.spans.map((s) => trace.processes[s.processID]?.serviceName));
      const operations = trace.spans.map((s) => `${trace.processes[s.processID]?.serviceName}: ${s.operationName}`);
      expect([...services].sort()).toEqual(expect.arrayContaining(["booking", "edge", "notifier", "slot"]));
      const has = (predicate: (s: JaegerSpan) => boolean, what: string) => {
        if (!trace.spans.some(predicate)) throw new Error(`no ${what} span in the trace; spans: ${operations.join(" | ")}`);
      };
      const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
      has((s) => trace.processes[s.processID]?.serviceName === "edge" && tag(s, "span.kind") === "server", "edge HTTP server");
      has((s) => s.operationName.includes("BookingService/CreateBooking") && tag(s, "span.kind") === "server", "booking gRPC server");
      has((s) => s.operationName.includes("SlotService/GetSlot") && trace.processes[s.processID]?.serviceName === "slot", "slot gRPC server");
      has((s) => tag(s, "db.system") === "postgresql" || tag(s, "db.system.name") === "postgresql", "PostgreSQL");
      has((s) => s.operationName === "clinic.booking.events.v1 publish", "Kafka publish");
      has((s) => trace.processes[s.processID]?.serviceName === "notifier" && tag(s, "span.kind") === "consumer", "notifier consume");
      has((s) => s.operationName === "notification send email", "notifier send");
    });
  });

  /** The README's API walk-through is a script (scripts/api-walkthrough): run as it stands. */
  describe("the README's API walk-through", () => {
    it("runs as pasted against the running platform and gets the answers its comments promise", async () => {
      // Exactly the README's copy (test/readme.test.ts keeps the two identical), with curl and jq.
      const { stdout } = await run("bash", [path.join(repoRoot, "scripts/api-walkthrough")], {
        env: { ...process.env, EDGE_URL: settings["EDGE_URL"]!, ADMIN_EMAIL: settings["ADMIN_EMAIL"]!, ADMIN_PASSWORD: settings["ADMIN_PASSWORD"]! },
        timeout: 60_000,
      });
      const lines = stdout.trim().split("\n");
      // In order: 12 scheduled slots, the booking confirmed, one seat of two left, the policy, the
      // deadline, then the moved booking cancelled.
      expect(lines[0]).toBe("12");
      expect(lines).toContain("confirmed");
      expect(lines).toContain("cancelled");
      expect(JSON.parse(lines[lines.indexOf("confirmed") + 1]!)).toMatchObject({ capacity: 2, held: 1, remaining: 1 });
      expect(JSON.parse(lines[lines.indexOf("confirmed") + 2]!)).toMatchObject({ cancellationWindowHours: 24, custom: false });
      expect(lines[lines.indexOf("confirmed") + 3]).toMatch(/T14:00:00\.000Z$/);
    });
  });

  /**
   * The consoles an SRE opens on the local stack, checked in Debian's Chromium: after bookings
   * went in over HTTP, Zipkin's UI must find the trace of a known booking, every dashboard in
   * vmui must draw its panels from that traffic, and Prometheus's alerts page must list every
   * alert rule. Screenshots go to CLINIC_SCREENSHOTS_DIR (default .state/screenshots; the
   * README's come from `CLINIC_SCREENSHOTS_DIR=docs/consoles`).
   */
  describe("SRE consoles in a browser", () => {
    const screenshots = path.resolve(repoRoot, process.env["CLINIC_SCREENSHOTS_DIR"] ?? ".state/screenshots");
    let browser: Browser;
    // The known booking: its request carries a trace id chosen here (W3C traceparent).
    const traceId = randomBytes(16).toString("hex");

    /** Series VictoriaMetrics answers for a range query over the last `seconds`, at vmui's step. */
    const vmRange = async (expr: string, seconds: number): Promise<number> => {
      const end = Math.floor(Date.now() / 1000);
      const form = new URLSearchParams({ query: expr, start: String(end - seconds), end: String(end), step: "3s" });
      const res = await fetch(`${settings["VICTORIAMETRICS_URL"]}/api/v1/query_range`, { method: "POST", body: form });
      if (!res.ok) throw new Error(`VictoriaMetrics: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: { result: unknown[] } }).data.result.length;
    };

    const vmQuery = async (expr: string): Promise<unknown[]> => {
      const res = await fetch(`${settings["VICTORIAMETRICS_URL"]}/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (!res.ok) throw new Error(`VictoriaMetrics: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: { result: unknown[] } }).data.result;
    };

    beforeAll(async () => {
      mkdirSync(screenshots, { recursive: true });
      browser = await launchBrowser();
      await makeTraffic();
    });
    afterAll(async () => {
      await browser?.close();
    });

    /**
     * What the dashboards draw: bookings held, confirmed, cancelled and refused (full slot, twice
     * the same patient), catalogue and availability reads (cache hits and misses), and the
     * notifications they send. Counters only exist after their first increment, and a rate needs
     * two scrapes of a series: a first round of traffic creates the series, the second one (after
     * VictoriaMetrics scraped the first) moves them.
     */
    async function makeTraffic(): Promise<void> {
      const edgeUrl = settings["EDGE_URL"]!;
      const admin = await signIn(edgeUrl, settings["ADMIN_EMAIL"]!, settings["ADMIN_PASSWORD"]!);
      const patients: Http[] = [];
      // Two patients: signing up and in are anonymous calls, limited to 10 a minute per address.
      for (let i = 0; i < 2; i++) {
        const email = `console-${randomUUID()}@example.org`;
        expect((await new Http(edgeUrl).post("/api/v1/auth/register", { email, password: "console-patient-password" })).status).toBe(201);
        patients.push(await signIn(edgeUrl, email, "console-patient-password"));
      }
      const [first, second] = patients as [Http, Http];
      const doctor = await admin.post("/api/v1/doctors", { name: "Dr. Console", specialization: "cardiology" });
      expect(doctor.status).toBe(201);
      const newSlot = async (hours: number, capacity: number): Promise<string> => {
        const start = new Date(Date.now() + hours * 3_600_000);
        start.setUTCMinutes(0, 0, 0);
        const slot = await admin.post(`/api/v1/doctors/${doctor.body.id}/slots`, {
          startTime: start.toISOString(),
          endTime: new Date(start.getTime() + 1_800_000).toISOString(),
          capacity,
        });
        expect(slot.status).toBe(201);
        return slot.body.id as string;
      };
      const book = (patient: Http, slotId: string, confirm: boolean, headers?: Record<string, string>) =>
        patient.post("/api/v1/bookings", { slotId, patientName: "Console Patient", patientContact: "console@example.org", patientPhone: "+15551234567", confirm }, headers);

      const round = async (hours: number) => {
        const single = await newSlot(hours, 1);
        const pair = await newSlot(hours + 1, 2);
        // A page watching both slots live (signed in: streams count against the account's budget).
        const watcher = await SseClient.open(edgeUrl, `/api/v1/availability/stream?slotIds=${single},${pair}`, { headers: await first.authorization() });
        expect(watcher.status).toBe(200);
        try {
          expect((await book(first, single, true)).status).toBe(201);
          expect((await book(second, single, false)).status).toBe(409); // the slot is full
          const held = await book(second, pair, false);
          expect(held.status).toBe(201);
          expect((await book(second, pair, false)).status).toBe(409); // the same patient again
          expect((await second.post(`/api/v1/bookings/${held.body.id}/cancel`)).status).toBe(200);
          for (const p of patients) {
            expect((await p.get("/api/v1/doctors")).status).toBe(200);
            expect((await p.get(`/api/v1/availability?slotIds=${single},${pair}`)).status).toBe(200);
          }
          // The stream shows where the round left the seats: the single seat taken, the pair free again.
          const latest = (slotId: string) => watcher.availability().filter((a) => a.slotId === slotId).at(-1);
          await watcher.waitFor(() => (latest(single)?.remaining === 0 && latest(pair)?.remaining === 2 ? true : undefined), 30_000, "the round's seats");
        } finally {
          watcher.close();
        }
      };

      const inVictoriaMetrics = (expr: string, what: string) =>
        eventually(async () => ((await vmQuery(expr)).length > 0 ? true : undefined), 90_000, 1_000).catch(async (err: unknown) => {
          const seen = async (metric: string) => JSON.stringify((await vmQuery(metric)).map((r) => (r as { metric: unknown }).metric));
          throw new Error(`${what}: ${String(err)}; VictoriaMetrics has booking_outcomes_total ${await seen("booking_outcomes_total")}, notifications_total ${await seen("notifications_total")}`);
        });

      await round(48);
      // Series this round created (no other test here refuses a full slot or sends an SMS) are
      // scraped before the second round moves them.
      await inVictoriaMetrics(`booking_outcomes_total{outcome="rejected_full"} and on() notifications_total{channel="sms",outcome="sent"}`, "first round scraped");
      await round(72);
      const known = await book(second, await newSlot(96, 1), true, { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` });
      expect(known.status).toBe(201);
      await inVictoriaMetrics(
        `sum(increase(booking_outcomes_total{outcome="rejected_full"}[5m])) > 0 and sum(increase(notifications_total{channel="sms",outcome="sent"}[5m])) > 0`,
        "second round scraped",
      );
    }

    async function openPage(width = 1400, height = 1000): Promise<Page> {
      const page = await browser.newPage({ viewport: { width, height } });
      page.setDefaultTimeout(30_000);
      return page;
    }

    it("Zipkin finds the trace of a known booking, with spans of the edge, booking and the notifier", async () => {
      // Both exporters got the trace: Jaeger (whose query API the tracing test reads) and Zipkin,
      // complete once the notifier's e-mail went out.
      await eventually(async () => {
        const res = await fetch(`${settings["JAEGER_QUERY_URL"]}/api/traces/${traceId}`);
        return res.ok ? true : undefined;
      }, 60_000, 500);
      const zipkin = new URL(settings["ZIPKIN_URL"]!);
      await eventually(async () => {
        const res = await fetch(new URL(`/api/v2/trace/${traceId}`, zipkin));
        if (!res.ok) return undefined;
        const spans = (await res.json()) as ZipkinSpan[];
        return spans.some((s) => s.localEndpoint?.serviceName === "notifier" && s.name === "notification send email") ? true : undefined;
      }, 60_000, 500);

      // Tall enough for every span row of the trace to be on screen.
      const page = await openPage(1400, 1400);
      try {
        await page.goto(settings["ZIPKIN_URL"]!);
        // The "Search by trace ID" box of the top bar.
        const search = page.getByPlaceholder("Trace ID");
        await search.fill(traceId);
        await search.press("Enter");
        await page.waitForURL(`**/traces/${traceId}`);
        // The trace's root span names the page; each span row reads "<service>: <span name>".
        await page.getByText("edge: post /api/v1/bookings", { exact: true }).first().waitFor();
        const rows = (await page.locator("body").innerText()).split("\n").map((line) => line.trim());
        const expected = [
          "edge: grpc.clinic.booking.v1.bookingservice/createbooking",
          "booking: grpc.clinic.booking.v1.bookingservice/createbooking",
          "slot: grpc.clinic.slot.v1.slotservice/getslot",
          "booking: clinic.booking.events.v1 publish",
          "notifier: process clinic.booking.events.v1",
          "notifier: notification send email",
        ];
        expect(expected.filter((span) => !rows.includes(span))).toEqual([]);
        await page.screenshot({ path: path.join(screenshots, "zipkin-trace.png") });
      } finally {
        await page.close();
      }
    });

    it("every dashboard draws its panels from the traffic", async () => {
      const page = await openPage(1400, 900);
      const empty: string[] = [];
      // What VictoriaMetrics answered to each panel query, so an empty panel says whether the
      // query came back empty or was never sent.
      const answers = new Map<string, string>();
      page.on("response", (res) => {
        if (!res.url().includes("/api/v1/query_range")) return;
        const form = new URLSearchParams(res.request().postData() ?? "");
        const query = form.get("query") ?? "";
        const range = `start=${form.get("start")} end=${form.get("end")} step=${form.get("step")} at=${Math.round(Date.now() / 1000)}`;
        res
          .json()
          .then((body: { data?: { result?: { values?: unknown[] }[] } }) => {
            const result = body.data?.result ?? [];
            answers.set(query, `${result.length} series, ${result.map((r) => r.values?.length ?? 0).join("/")} points (${range})`);
          })
          .catch((err: unknown) => answers.set(query, `unreadable answer ${res.status()}: ${String(err)} (${range})`));
      });
      try {
        for (const dashboard of loadDashboards()) {
          const sourcePanels = dashboard.rows.flatMap((r) => r.panels);
          const mustDraw = (i: number) => !sourcePanels[i]?.mayBeEmpty;
          // The panels draw rates and ratios over 1-minute windows: a ratio or quantile has points
          // only within a minute of a counter's increase, and a counter born with its first
          // requests shows no increase until the next ones. So first VictoriaMetrics itself must
          // answer every panel that must draw over the range the page shows (traffic again until
          // it does); then the page, loaded afresh, must draw what its API answers.
          const withoutData = async () => {
            const missing: string[] = [];
            for (const [i, panel] of sourcePanels.entries()) {
              if (!mustDraw(i)) continue;
              const answered = await Promise.all(panel.queries.map(async (q) => (await vmRange(vmuiExpr(q.expr), 15 * 60)) > 0));
              if (!answered.includes(true)) missing.push(panel.title);
            }
            return missing;
          };
          for (let round = 1; (await withoutData()).length > 0; round++) {
            if (round > 6) throw new Error(`VictoriaMetrics answers nothing for ${(await withoutData()).join(", ")} of ${dashboard.title} after 6 rounds of traffic`);
            await makeTraffic();
            await sleep(6_000);
          }
          // A page load queries each panel once: a panel still empty gets the dashboard loaded
          // again, like an SRE pressing refresh (a loaded 2-core machine answers late).
          let drawn: DrawnPanel[] = [];
          for (let load = 1; load <= 3; load++) {
            drawn = await loadDashboard(page, dashboard.title, dashboard.rows.length, sourcePanels.length, mustDraw);
            if (drawn.every((p, i) => p.series > 0 || !mustDraw(i))) break;
          }
          expect(drawn.map((p) => p.title)).toEqual(sourcePanels.map((p) => p.title));
          expect(drawn.filter((p) => p.error !== "").map((p) => `${p.title}: ${p.error}`)).toEqual([]);
          for (const [i, p] of drawn.entries()) {
            if (p.series === 0 && mustDraw(i)) {
              const queries = sourcePanels[i]!.queries.map((q) => vmuiExpr(q.expr)).map((q) => `${q} -> ${answers.get(q) ?? "never queried"}`);
              empty.push(`${dashboard.title} / ${p.title}${p.loading ? " (still loading after 30 s)" : ""}: ${queries.join("; ")}`);
            }
          }
          // The picture ends below the last row.
          const bottom = Number(await page.evaluate(`document.querySelector(".vm-predefined-panels").getBoundingClientRect().bottom`));
          await page.screenshot({
            path: path.join(screenshots, `dashboard-${dashboard.title.replace(/\W+/g, "-").toLowerCase()}.png`),
            clip: { x: 0, y: 0, width: 1400, height: Math.ceil(bottom) + 16 },
          });
        }
      } finally {
        await page.close();
      }
      expect(empty).toEqual([]);
    });

    interface DrawnPanel {
      title: string;
      /** Entries in the panel's legend: one per series drawn. */
      series: number;
      error: string;
      loading: boolean;
    }

    /**
     * Opens one dashboard in vmui with every row unfolded; its panels once none is loading and each
     * one that must draw does, or as they are after 30 s.
     */
    async function loadDashboard(page: Page, title: string, rows: number, panelCount: number, mustDraw: (i: number) => boolean): Promise<DrawnPanel[]> {
      await page.setViewportSize({ width: 1400, height: 900 });
      // vmui fixes the range's end when the page loads; a navigation that changes only the URL's
      // hash is no load. A blank page in between makes every load a fresh one, ending now.
      await page.goto("about:blank");
      // The last 15 minutes: the traffic stays in range however long the checks before took (a
      // ratio or quantile over 1 m windows has points only while there was traffic).
      await page.goto(`${settings["DASHBOARDS_URL"]}?g0.range_input=15m`);
      await page.locator(".vm-predefined-panels-tabs__tab", { hasText: title }).click();
      await page.locator(".vm-predefined-panels-tabs__tab_active", { hasText: title }).waitFor();
      // Rows after the first start folded. Their headers toggle on the click event; a full
      // pointer click (mousedown, mouseup, click) left them folded in this vmui version, the
      // click event alone opens them.
      const headers = page.locator(".vm-predefined-dashboard > header.vm-accordion-header");
      await expect(headers.count()).resolves.toBe(rows);
      for (let i = 0; i < rows; i++) {
        const header = headers.nth(i);
        if (!((await header.getAttribute("class")) ?? "").includes("vm-accordion-header_open")) await header.dispatchEvent("click");
      }
      const panels = page.locator(".vm-predefined-panel");
      await eventually(async () => ((await panels.count()) === panelCount ? true : undefined), 10_000, 100).catch(() => undefined);
      await expect(panels.count()).resolves.toBe(panelCount);
      // Every panel on screen at once (a panel queries when it comes into view): the window
      // grows to the whole dashboard.
      const bottom = Number(await page.evaluate(`document.querySelector(".vm-predefined-panels").getBoundingClientRect().bottom`));
      await page.setViewportSize({ width: 1400, height: Math.ceil(bottom) + 200 });
      const read = (): Promise<DrawnPanel[]> =>
        panels.evaluateAll((elements: any[]) =>
          elements.map((el) => ({
            title: String(el.querySelector(".vm-predefined-panel-header__title")?.textContent ?? ""),
            series: Number(el.querySelectorAll(".vm-legend-item").length),
            error: String(el.querySelector(".vm-alert_error")?.textContent ?? ""),
            loading: el.querySelector(".vm-spinner") !== null,
          })),
        );
      // Generous: on a loaded 2-core machine a dozen panels querying at once take a while.
      return eventually(async () => {
        const state = await read();
        return state.every((p, i) => !p.loading && (p.series > 0 || !mustDraw(i))) ? state : undefined;
      }, 30_000, 500).catch(read);
    }

    it("Prometheus's alerts page lists every alert rule of the platform", async () => {
      const rules = readFileSync(path.join(repoRoot, "deploy/observability/prometheus/alerts.yml"), "utf8");
      const alertNames = [...rules.matchAll(/^\s*- alert: (\S+)/gm)].map((m) => m[1]!);
      expect(alertNames.length).toBeGreaterThan(10);
      const page = await openPage();
      try {
        await page.goto(settings["PROMETHEUS_ALERTS_URL"]!);
        const text = await page.locator("body").innerText();
        expect(alertNames.filter((name) => !text.includes(name))).toEqual([]);
        await page.screenshot({ path: path.join(screenshots, "prometheus-alerts.png") });
      } finally {
        await page.close();
      }
    });
  });
});
