// @ts-check
// The platform's dashboards have one source: the *.dashboard.js files beside this script. This
// generator turns them into
//   - Grafana dashboards for the cluster (deploy/observability/grafana/dashboards/*.json,
//     committed because deployments mount them; scripts/check-observability fails when they differ
//     from what the source generates), and
//   - vmui dashboards for the local stack (VictoriaMetrics' -vmui.customDashboardsPath; written
//     into the state dir by scripts/stack.d/victoriametrics.sh on every start).
// So a panel added, changed or removed in the source changes both, and neither can drift.
//
//   node generate.js --grafana <dir>   write the Grafana JSON files into <dir>
//   node generate.js --vmui <dir>      write the vmui JSON files into <dir>
//   node generate.js --check <dir>     exit 1 unless <dir> holds exactly the Grafana files
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/**
 * @typedef {{ expr: string, legend: string }} Query
 * @typedef {[color: string, from: number | null]} ThresholdStep
 * @typedef {object} Panel
 * @property {"timeseries" | "stat" | "bargauge" | "state-timeline"} type  state-timeline panels
 *   show 0 as DOWN and 1 as UP
 * @property {string} title
 * @property {string} [description]
 * @property {number} width   Grafana grid columns (of 24); panels flow left to right in a row
 * @property {number} height  Grafana grid rows
 * @property {string} unit    Grafana unit id (reqps, ops, s, bytes, percentunit, short)
 * @property {number} [min]
 * @property {number} [max]
 * @property {number} [decimals]
 * @property {boolean} [stacked]
 * @property {boolean} [instant]  one value per series at the end of the range (bar gauges always)
 * @property {ThresholdStep[]} [thresholds]  colours from each value up; shown as lines and areas
 *   on time series
 * @property {Query[]} queries
 * @property {string} [mayBeEmpty]  why the panel can rightly be empty on a healthy platform with
 *   ordinary traffic (it shows failures only, or a metric from outside the services); the
 *   consoles test requires every other panel to draw data, and vmui shows the reason
 * @typedef {{ title: string, panels: Panel[] }} Row
 * @typedef {{ name: string, label: string, query: string }} Variable  a multi-value label filter
 *   (All = any value)
 * @typedef {object} Dashboard
 * @property {string} file   base name of the generated files
 * @property {string} uid
 * @property {string} title
 * @property {string} description
 * @property {string[]} tags
 * @property {Variable[]} [variables]
 * @property {Row[]} rows
 */

const SOURCE_DIR = __dirname;
const GRID_WIDTH = 24;
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** @returns {Dashboard[]} in the order they are listed (vmui shows them as tabs in this order) */
function loadDashboards() {
  /** @type {string[]} */
  const order = require(path.join(SOURCE_DIR, "order.json"));
  const files = fs.readdirSync(SOURCE_DIR).filter((f) => f.endsWith(".dashboard.js")).sort();
  const listed = order.map((name) => `${name}.dashboard.js`);
  const unlisted = files.filter((f) => !listed.includes(f));
  const missing = listed.filter((f) => !files.includes(f));
  if (unlisted.length || missing.length) {
    throw new Error(`order.json and the *.dashboard.js files disagree: unlisted ${unlisted.join(", ") || "-"}, missing ${missing.join(", ") || "-"}`);
  }
  return listed.map((f) => {
    /** @type {Dashboard} */
    const d = require(path.join(SOURCE_DIR, f));
    if (`${d.file}.dashboard.js` !== f) throw new Error(`${f}: file is "${d.file}", expected "${f.replace(/\.dashboard\.js$/, "")}"`);
    return d;
  });
}

// ------------------------------------------------------------------------------------ Grafana

/** @param {ThresholdStep[]} steps */
const grafanaThresholds = (steps) => ({ mode: "absolute", steps: steps.map(([color, value]) => ({ color, value })) });

/** @param {Panel} p */
function grafanaFieldDefaults(p) {
  /** @type {Record<string, unknown>} */
  const defaults = { unit: p.unit };
  if (p.decimals !== undefined) defaults["decimals"] = p.decimals;
  if (p.min !== undefined) defaults["min"] = p.min;
  if (p.max !== undefined) defaults["max"] = p.max;
  if (p.thresholds) defaults["thresholds"] = grafanaThresholds(p.thresholds);
  if (p.type === "state-timeline") {
    defaults["mappings"] = [{ type: "value", options: { 0: { text: "DOWN", color: "red" }, 1: { text: "UP", color: "green" } } }];
  }
  if (p.type === "timeseries") {
    /** @type {Record<string, unknown>} */
    const custom = { drawStyle: "line", lineWidth: 1, fillOpacity: 10, showPoints: "never", spanNulls: false };
    if (p.stacked) custom["stacking"] = { mode: "normal", group: "A" };
    if (p.thresholds) custom["thresholdsStyle"] = { mode: "line+area" };
    defaults["custom"] = custom;
  }
  return defaults;
}

const REDUCE_LAST = { calcs: ["lastNotNull"], fields: "", values: false };

/** @param {Panel} p */
function grafanaOptions(p) {
  switch (p.type) {
    case "timeseries":
      return { legend: { displayMode: "table", placement: "bottom", calcs: ["lastNotNull", "max"] }, tooltip: { mode: "multi", sort: "desc" } };
    case "stat":
      return {
        reduceOptions: REDUCE_LAST,
        colorMode: "background",
        graphMode: p.instant ? "none" : "area",
        textMode: "auto",
        justifyMode: "auto",
        orientation: "auto",
      };
    case "bargauge":
      return { reduceOptions: REDUCE_LAST, orientation: "horizontal", displayMode: "gradient", showUnfilled: true };
    case "state-timeline":
      return { mergeValues: true, showValue: "auto", rowHeight: 0.9 };
  }
}

/** @param {Panel} p */
function grafanaTargets(p) {
  const instant = p.instant || p.type === "bargauge";
  return p.queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend,
    ...(instant ? { range: false, editorMode: "code", instant: true, format: "time_series" } : { range: true, editorMode: "code" }),
  }));
}

/** @param {Variable} v */
const grafanaVariable = (v) => ({
  name: v.name,
  label: v.label,
  type: "query",
  datasource: DATASOURCE,
  definition: v.query,
  query: { query: v.query, refId: "PrometheusVariableQueryEditor-VariableQuery" },
  includeAll: true,
  multi: true,
  allValue: ".*",
  current: { text: "All", value: "$__all" },
  refresh: 2,
  sort: 1,
  hide: 0,
});

/** @param {Dashboard} d */
function toGrafana(d) {
  const panels = [];
  let id = 0;
  let y = 0;
  for (const row of d.rows) {
    panels.push({ type: "row", id: ++id, title: row.title, collapsed: false, gridPos: { h: 1, w: GRID_WIDTH, x: 0, y }, panels: [] });
    y += 1;
    // Panels flow left to right and wrap when the next one does not fit; a line is as tall as
    // its tallest panel.
    let x = 0;
    let lineHeight = 0;
    for (const p of row.panels) {
      if (x + p.width > GRID_WIDTH) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      panels.push({
        id: ++id,
        type: p.type,
        title: p.title,
        description: p.description ?? "",
        datasource: DATASOURCE,
        gridPos: { h: p.height, w: p.width, x, y },
        targets: grafanaTargets(p),
        fieldConfig: { defaults: grafanaFieldDefaults(p), overrides: [] },
        options: grafanaOptions(p),
      });
      x += p.width;
      lineHeight = Math.max(lineHeight, p.height);
    }
    y += lineHeight;
  }
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: d.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: "now-1h", to: "now" },
    refresh: "10s",
    timezone: "browser",
    annotations: { list: [] },
    links: [{ type: "dashboards", tags: ["clinic"], asDropdown: true, title: "Clinic dashboards" }],
    templating: {
      list: [
        { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: { text: "Prometheus", value: "prometheus" }, hide: 0 },
        ...(d.variables ?? []).map(grafanaVariable),
      ],
    },
    panels,
  };
}

// --------------------------------------------------------------------------------------- vmui

/** vmui prints its unit as the y-axis label; Grafana's ids mean nothing there. */
const VMUI_UNITS = /** @type {Record<string, string | undefined>} */ ({
  reqps: "req/s",
  ops: "per second",
  s: "seconds",
  bytes: "bytes",
  percentunit: "ratio (1 = 100 %)",
  short: undefined,
});

/**
 * vmui has no dashboard variables and no Grafana interval macros: every variable is a multi-value
 * label filter whose "All" is `.*`, so locally each one shows everything; rates are over 1 m (12
 * scrapes at the local 5 s interval); a "selected range" becomes the last hour at each point.
 * @param {string} expr
 */
const vmuiExpr = (expr) =>
  expr
    .replace(/\$\{?__rate_interval\}?/g, "1m")
    .replace(/\$\{?__interval\}?/g, "1m")
    .replace(/\$\{?__range\}?/g, "1h")
    .replace(/\$\{?(\w+)\}?/g, ".*");

/** @param {Panel} p */
function vmuiDescription(p) {
  const notes = [];
  if (p.mayBeEmpty) notes.push(`Empty is normal here: ${p.mayBeEmpty}`);
  if (p.queries.some((q) => /\$\{?__range\}?/.test(q.expr))) notes.push("Here: over the hour before each point (Grafana: over the selected range).");
  if (p.type === "state-timeline") notes.push("1 = up, 0 = down.");
  if (p.type === "stat" || p.type === "bargauge") notes.push(`A ${p.type === "stat" ? "single value" : "bar gauge"} in Grafana; its history here.`);
  return [p.description ?? "", ...notes].filter((s) => s !== "").join("\n\n");
}

/** @param {Dashboard} d */
function toVmui(d) {
  return {
    title: d.title,
    filename: d.file,
    rows: d.rows.map((row) => ({
      title: row.title,
      panels: row.panels.map((p) => {
        const unit = VMUI_UNITS[p.unit];
        return {
          title: p.title,
          description: vmuiDescription(p),
          ...(unit ? { unit } : {}),
          expr: p.queries.map((q) => vmuiExpr(q.expr)),
          alias: p.queries.map((q) => q.legend),
          showLegend: true,
          // vmui's grid has 12 columns, Grafana's 24.
          width: Math.max(1, Math.round(p.width / 2)),
        };
      }),
    })),
  };
}

// --------------------------------------------------------------------------------------- main

/** @param {unknown} value */
const json = (value) => JSON.stringify(value, null, 2) + "\n";

/**
 * @param {"grafana" | "vmui"} format
 * @returns {Map<string, string>} file name -> content
 */
function render(format) {
  const out = new Map();
  loadDashboards().forEach((d, i) => {
    if (format === "grafana") out.set(`${d.file}.json`, json(toGrafana(d)));
    // vmui lists the files of its directory in name order: the prefix keeps order.json's order.
    else out.set(`${String(i + 1).padStart(2, "0")}-${d.file}.json`, json(toVmui(d)));
  });
  return out;
}

/**
 * @param {string} dir
 * @param {Map<string, string>} files
 */
function write(dir, files) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of files) fs.writeFileSync(path.join(dir, name), content);
}

function main() {
  const [flag, dir] = process.argv.slice(2);
  if (!dir || !["--grafana", "--vmui", "--check"].includes(flag ?? "")) {
    process.stderr.write("usage: node generate.js --grafana <dir> | --vmui <dir> | --check <grafana dir>\n");
    process.exit(2);
  }
  if (flag === "--vmui") return write(dir, render("vmui"));
  const grafana = render("grafana");
  if (flag === "--grafana") return write(dir, grafana);
  const present = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  const problems = [];
  for (const [name, content] of grafana) {
    if (!present.includes(name)) problems.push(`${name}: missing`);
    else if (fs.readFileSync(path.join(dir, name), "utf8") !== content) problems.push(`${name}: differs from its source`);
  }
  for (const name of present) if (!grafana.has(name)) problems.push(`${name}: has no source (*.dashboard.js)`);
  if (problems.length) {
    process.stderr.write(
      `Grafana dashboards in ${dir} do not match deploy/observability/dashboards/:\n  ${problems.join("\n  ")}\n` +
        "Edit the *.dashboard.js source, then run: node deploy/observability/dashboards/generate.js --grafana deploy/observability/grafana/dashboards\n",
    );
    process.exit(1);
  }
  process.stdout.write(`dashboards: ${grafana.size} Grafana files match their source\n`);
}

module.exports = { loadDashboards, toGrafana, toVmui, vmuiExpr };
if (require.main === module) main();
