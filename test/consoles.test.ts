import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { eventually, launchBrowser } from "@clinic/test-support";
import type { Browser, Page } from "playwright-core";
import { Http, signIn } from "./harness";
import { repoRoot, startPlatform, type PlatformProcesses } from "./platform-processes";

/** The dashboards' one source (deploy/observability/dashboards/), read as the generator reads it. */
interface SourcePanel {
  title: string;
  mayBeEmpty?: string;
}
interface SourceDashboard {
  title: string;
  rows: { title: string; panels: SourcePanel[] }[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadDashboards } = require(path.join(repoRoot, "deploy/observability/dashboards/generate.js")) as { loadDashboards(): SourceDashboard[] };

interface ZipkinSpan {
  name: string;
  localEndpoint?: { serviceName?: string };
}

/**
 * The consoles an SRE opens on the local stack, checked in Debian's Chromium: the whole platform
 * runs as processes (with Jaeger, Zipkin, Prometheus and VictoriaMetrics), bookings go in over
 * HTTP, then Zipkin's UI must find the trace of a known booking, every dashboard in vmui must
 * draw its panels from that traffic, and Prometheus's alerts page must list every alert rule.
 * Screenshots go to CLINIC_SCREENSHOTS_DIR (default .state/screenshots; the README's come from
 * `CLINIC_SCREENSHOTS_DIR=docs/consoles`).
 */
describe("SRE consoles in a browser", () => {
  jest.setTimeout(600_000);
  const screenshots = path.resolve(repoRoot, process.env["CLINIC_SCREENSHOTS_DIR"] ?? ".state/screenshots");
  let platform: PlatformProcesses;
  let settings: Record<string, string>;
  let browser: Browser;
  // The known booking: its request carries a trace id chosen here (W3C traceparent).
  const traceId = randomBytes(16).toString("hex");

  const vmQuery = async (expr: string): Promise<unknown[]> => {
    const res = await fetch(`${settings["VICTORIAMETRICS_URL"]}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (!res.ok) throw new Error(`VictoriaMetrics: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: { result: unknown[] } }).data.result;
  };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    [platform, browser] = await Promise.all([
      startPlatform(
        ["postgres", "redis", "kafka", "jaeger", "zipkin", "sinks", "doctor", "slot", "booking", "notifier", "edge", "prometheus", "victoriametrics"],
        process.env["CLINIC_CONSOLES_STATE_DIR"],
      ),
      launchBrowser(),
    ]);
    settings = platform.settings;
    await makeTraffic();
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
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
    for (let i = 0; i < 3; i++) {
      const email = `console-${randomUUID()}@example.org`;
      expect((await new Http(edgeUrl).post("/api/v1/auth/register", { email, password: "console-patient-password" })).status).toBe(201);
      patients.push(await signIn(edgeUrl, email, "console-patient-password"));
    }
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
      const slotId = await newSlot(hours, 2);
      expect((await book(patients[0]!, slotId, true)).status).toBe(201);
      const held = await book(patients[1]!, slotId, false);
      expect(held.status).toBe(201);
      expect((await book(patients[1]!, slotId, false)).status).toBe(409); // the same patient again
      expect((await book(patients[2]!, slotId, false)).status).toBe(409); // the slot is full
      expect((await patients[1]!.post(`/api/v1/bookings/${held.body.id}/cancel`)).status).toBe(200);
      for (const p of patients) {
        expect((await p.get("/api/v1/doctors")).status).toBe(200);
        expect((await p.get(`/api/v1/availability?slotIds=${slotId}`)).status).toBe(200);
      }
    };

    await round(48);
    await eventually(async () => ((await vmQuery(`booking_outcomes_total{outcome="held"}`)).length > 0 ? true : undefined), 60_000, 1_000);
    await round(72);
    const known = await book(patients[2]!, await newSlot(96, 1), true, { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` });
    expect(known.status).toBe(201);
    // Until the second round shows as a rate (its scrape is in and the notifications went out).
    await eventually(
      async () => ((await vmQuery(`sum(rate(notifications_total{outcome="sent"}[1m])) > 0 and sum(rate(booking_outcomes_total{outcome="held"}[1m])) > 0`)).length > 0 ? true : undefined),
      90_000,
      1_000,
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
    try {
      for (const dashboard of loadDashboards()) {
        await page.goto(`${settings["DASHBOARDS_URL"]}?g0.range_input=5m`);
        await page.locator(".vm-predefined-panels-tabs__tab", { hasText: dashboard.title }).click();
        await page.locator(".vm-predefined-panels-tabs__tab_active", { hasText: dashboard.title }).waitFor();
        // Rows after the first start folded. Their headers toggle on the click event; a full
        // pointer click (mousedown, mouseup, click) left them folded in this vmui version, the
        // click event alone opens them.
        const headers = page.locator(".vm-predefined-dashboard > header.vm-accordion-header");
        await expect(headers.count()).resolves.toBe(dashboard.rows.length);
        for (let i = 0; i < dashboard.rows.length; i++) {
          const header = headers.nth(i);
          if (!((await header.getAttribute("class")) ?? "").includes("vm-accordion-header_open")) await header.dispatchEvent("click");
        }
        const panels = page.locator(".vm-predefined-panel");
        const sourcePanels = dashboard.rows.flatMap((r) => r.panels);
        await eventually(async () => ((await panels.count()) === sourcePanels.length ? true : undefined), 10_000, 100).catch(() => undefined);
        await expect(panels.count()).resolves.toBe(sourcePanels.length);
        for (let i = 0; i < sourcePanels.length; i++) {
          const source = sourcePanels[i]!;
          const panel = panels.nth(i);
          // A panel queries once it scrolls into view.
          await panel.scrollIntoViewIfNeeded();
          await expect(panel.locator(".vm-predefined-panel-header__title").innerText()).resolves.toBe(source.title);
          await panel.locator(".vm-spinner").waitFor({ state: "detached" });
          await expect(panel.locator(".vm-alert_error").count()).resolves.toBe(0);
          // Series drawn = entries in the panel's legend.
          const drawn = await eventually(async () => {
            const n = await panel.locator(".vm-legend-item").count();
            return n > 0 || source.mayBeEmpty ? n : undefined;
          }, 10_000, 250).catch(() => 0);
          if (drawn === 0 && !source.mayBeEmpty) empty.push(`${dashboard.title} / ${source.title}`);
        }
        await page.screenshot({ path: path.join(screenshots, `dashboard-${dashboard.title.replace(/\W+/g, "-").toLowerCase()}.png`), fullPage: true });
      }
    } finally {
      await page.close();
    }
    expect(empty).toEqual([]);
  });

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
