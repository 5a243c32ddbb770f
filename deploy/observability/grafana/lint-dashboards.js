// Sanity check of the Grafana dashboards, run by scripts/check-observability:
//   node lint-dashboards.js <dashboards dir> <rules file to write>
// Checks that every file is a dashboard Grafana can provision (unique uid and title, panels
// with unique ids and a grid position, Prometheus targets through the ${datasource} variable,
// every template variable a query uses defined), then writes every panel query into a rules
// file (Grafana's variables replaced by plausible values) so that `promtool check rules` parses
// each PromQL expression.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const [dir, rulesOut] = process.argv.slice(2);
if (!dir || !rulesOut) {
  process.stderr.write("usage: node lint-dashboards.js <dashboards dir> <rules file to write>\n");
  process.exit(2);
}

const problems = [];
const problem = (file, msg) => problems.push(`${file}: ${msg}`);
const BUILTIN_VARS = new Set(["__rate_interval", "__interval", "__range", "__all"]);
const uids = new Map();
const titles = new Map();
const rules = [];

const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) problem(dir, "no dashboards (*.json)");

for (const file of files) {
  let d;
  try {
    d = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  } catch (err) {
    problem(file, `not valid JSON: ${err.message}`);
    continue;
  }
  for (const key of ["uid", "title"]) {
    if (typeof d[key] !== "string" || d[key] === "") problem(file, `missing ${key}`);
  }
  if (typeof d.uid === "string" && !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) problem(file, `uid "${d.uid}" is not a valid Grafana uid (<= 40 of [A-Za-z0-9_-])`);
  if (uids.has(d.uid)) problem(file, `uid "${d.uid}" also used by ${uids.get(d.uid)}`);
  uids.set(d.uid, file);
  if (titles.has(d.title)) problem(file, `title "${d.title}" also used by ${titles.get(d.title)}`);
  titles.set(d.title, file);
  if (d.id !== undefined && d.id !== null) problem(file, "has an id; provisioned dashboards must leave it out (uid identifies them)");
  if (!Number.isInteger(d.schemaVersion)) problem(file, "missing schemaVersion");
  if (!Array.isArray(d.panels) || d.panels.length === 0) {
    problem(file, "no panels");
    continue;
  }

  const vars = new Set((d.templating?.list ?? []).map((v) => v.name));
  if (!vars.has("datasource") || d.templating.list.find((v) => v.name === "datasource").type !== "datasource") {
    problem(file, "needs a `datasource` template variable of type datasource");
  }
  const checkDatasource = (where, ds) => {
    if (!ds || ds.type !== "prometheus" || (ds.uid !== "${datasource}" && ds.uid !== "prometheus")) {
      problem(file, `${where}: datasource must be {type: prometheus, uid: \${datasource}}, got ${JSON.stringify(ds)}`);
    }
  };
  for (const v of d.templating.list) if (v.type === "query") checkDatasource(`variable ${v.name}`, v.datasource);

  const ids = new Set();
  const all = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const p of all) {
    const where = `panel ${p.id} "${p.title}"`;
    if (!Number.isInteger(p.id)) problem(file, `${where}: missing integer id`);
    if (ids.has(p.id)) problem(file, `${where}: duplicate panel id`);
    ids.add(p.id);
    if (!p.title) problem(file, `${where}: missing title`);
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x < 0 || g.w < 1 || g.x + g.w > 24) {
      problem(file, `${where}: bad gridPos ${JSON.stringify(g)}`);
    }
    if (p.type === "row") continue;
    checkDatasource(where, p.datasource);
    if (!Array.isArray(p.targets) || p.targets.length === 0) problem(file, `${where}: no queries`);
    const refIds = new Set();
    for (const t of p.targets ?? []) {
      if (refIds.has(t.refId)) problem(file, `${where}: duplicate refId ${t.refId}`);
      refIds.add(t.refId);
      checkDatasource(`${where} query ${t.refId}`, t.datasource);
      if (typeof t.expr !== "string" || t.expr.trim() === "") {
        problem(file, `${where} query ${t.refId}: empty expr`);
        continue;
      }
      for (const m of t.expr.matchAll(/\$\{?(\w+)\}?/g)) {
        if (!BUILTIN_VARS.has(m[1]) && !vars.has(m[1])) problem(file, `${where} query ${t.refId}: unknown variable $${m[1]}`);
      }
      const expr = t.expr
        .replace(/\$\{?__(rate_interval|interval|range)\}?/g, "5m")
        .replace(/\$\{?\w+\}?/g, ".*");
      rules.push({ record: `dashboard:check:${rules.length}`, expr, comment: `${file} ${where} ${t.refId}` });
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`dashboards: ${problems.length} problem(s):\n  ${problems.join("\n  ")}\n`);
  process.exit(1);
}

// JSON is valid YAML: no YAML library needed to write the rules file.
const ruleFile = { groups: [{ name: "dashboard-queries", rules: rules.map(({ record, expr }) => ({ record, expr })) }] };
fs.writeFileSync(rulesOut, JSON.stringify(ruleFile, null, 1) + "\n");
process.stdout.write(`dashboards: ${files.length} files, ${rules.length} queries, structure OK\n`);
