import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ROOT, type K8sObject } from "./chart";

/**
 * Which metric comes from where: the alert and recording rules of deploy/observability/ read
 * series of several exporters, and a rule over a series nothing scrapes can never fire. These
 * helpers find the metric names the rules read and the scrape targets a rendering sets up
 * (ServiceMonitor endpoints for the Prometheus Operator, prometheus.io/* annotations otherwise).
 */

export const RULE_FILES = {
  alerts: path.join(ROOT, "deploy/observability/prometheus/alerts.yml"),
  backup: path.join(ROOT, "deploy/observability/prometheus/backup-recording.yml"),
};

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
}

export function rulesOf(file: string): Rule[] {
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

const PROMQL_WORDS = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by
 * `(`), keywords, label names (inside `{}` or a grouping list) or durations (inside `[]`).
 */
export function metricNamesOf(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = bare[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 5m, 1e3
    if (PROMQL_WORDS.has(m[0]) || bare.slice(m.index + m[0].length).trimStart().startsWith("(")) continue;
    names.add(m[0]);
  }
  return names;
}

/** A container some Prometheus scrapes, and how. */
export interface ScrapeTarget {
  owner: K8sObject;
  container: any;
  containerPort: number;
  via: "ServiceMonitor" | "annotation";
  /** Metric names the ServiceMonitor endpoint renames series to (its metricRelabelings). */
  renamedTo: Set<string>;
  /** The `job` label the target gets, where the endpoint sets one. */
  job?: string;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

const podTemplates = (objects: K8sObject[]) => objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");

/** The containers behind one Service port (by the port's name or number). */
function containersBehind(objects: K8sObject[], svc: K8sObject, servicePort: any): { owner: K8sObject; container: any; containerPort: number }[] {
  // Patroni labels its pods' role at run time: a selector's `role` matches no template.
  const selector = { ...((svc.spec.selector ?? {}) as Record<string, string>) };
  delete selector["role"];
  const target = servicePort.targetPort ?? servicePort.port;
  const found: { owner: K8sObject; container: any; containerPort: number }[] = [];
  for (const w of podTemplates(objects)) {
    if (!matches(selector, w.spec.template.metadata.labels ?? {})) continue;
    for (const c of w.spec.template.spec.containers) {
      const port = (c.ports ?? []).find((p: any) => (typeof target === "string" ? p.name === target : p.containerPort === target));
      if (port) found.push({ owner: w, container: c, containerPort: port.containerPort });
    }
  }
  return found;
}

/** Every scrape a rendering sets up: ServiceMonitor endpoints and prometheus.io annotations. */
export function scrapeTargets(objects: K8sObject[]): ScrapeTarget[] {
  const services = objects.filter((o) => o.kind === "Service");
  const targets: ScrapeTarget[] = [];
  for (const sm of objects.filter((o) => o.kind === "ServiceMonitor")) {
    for (const ep of sm.spec.endpoints) {
      const renamedTo = new Set<string>(
        (ep.metricRelabelings ?? []).filter((r: any) => r.targetLabel === "__name__").map((r: any) => r.replacement as string),
      );
      const job = (ep.relabelings ?? []).find((r: any) => r.targetLabel === "job")?.replacement;
      for (const svc of services.filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels ?? {}))) {
        const port = svc.spec.ports.find((p: any) => p.name === ep.port);
        if (!port) continue;
        for (const t of containersBehind(objects, svc, port)) targets.push({ ...t, via: "ServiceMonitor", renamedTo, job });
      }
    }
  }
  const annotated = (o: { annotations?: Record<string, string> } | undefined) =>
    o?.annotations?.["prometheus.io/scrape"] === "true" ? Number(o.annotations["prometheus.io/port"]) : undefined;
  // Pods that name their port themselves.
  for (const w of podTemplates(objects)) {
    const port = annotated(w.spec.template.metadata);
    if (port === undefined) continue;
    for (const c of w.spec.template.spec.containers) {
      if ((c.ports ?? []).some((p: any) => p.containerPort === port)) targets.push({ owner: w, container: c, containerPort: port, via: "annotation", renamedTo: new Set() });
    }
  }
  // Services whose every endpoint is scraped (a Prometheus' kubernetes-service-endpoints job).
  for (const svc of services) {
    const port = annotated(svc.metadata);
    if (port === undefined) continue;
    const servicePort = svc.spec.ports.find((p: any) => p.port === port);
    if (!servicePort) continue;
    for (const t of containersBehind(objects, svc, servicePort)) targets.push({ ...t, via: "annotation", renamedTo: new Set() });
  }
  return targets;
}

/** An exporter: the metric names it serves and how to recognise its container. */
export interface Exporter {
  name: string;
  serves: (metric: string) => boolean;
  /** The name exists only through a ServiceMonitor's metricRelabelings renaming the exporter's own. */
  renamed?: boolean;
  isContainer: (owner: K8sObject, container: any) => boolean;
}

const SERVICES = ["edge", "doctor", "slot", "booking", "notifier"];

/**
 * Metric names the services declare (prom-client), read from the source: a rule reading a name
 * no service declares has no source even where the services are scraped.
 */
export function serviceMetricNames(): Set<string> {
  const names = new Set<string>();
  const dirs = [...fs.readdirSync(path.join(ROOT, "packages")).map((p) => path.join(ROOT, "packages", p, "src")), ...SERVICES.map((s) => path.join(ROOT, "services", s, "src"))];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
        for (const m of fs.readFileSync(file, "utf8").matchAll(/\bname:\s*["'`]([a-z_:][a-z0-9_:]*)["'`]/g)) names.add(m[1]!);
      }
    }
  };
  dirs.forEach(walk);
  return names;
}

/** prom-client's default metrics (collectDefaultMetrics in packages/platform/src/metrics). */
const PROM_CLIENT_DEFAULTS = /^(nodejs_|process_)/;

export function exporters(declared: Set<string>): Exporter[] {
  const declares = (metric: string) =>
    PROM_CLIENT_DEFAULTS.test(metric) || [metric, metric.replace(/_(bucket|sum|count)$/, "")].some((n) => declared.has(n));
  return [
    { name: "Patroni's REST API", serves: (m) => m.startsWith("patroni_"), isContainer: (_o, c) => c.name === "patroni" },
    // pg_stat_archiver under the local backup agent's names (templates/monitoring.yaml).
    { name: "postgres_exporter", serves: (m) => /^pg_archiver_/.test(m), renamed: true, isContainer: (_o, c) => /postgres-exporter/.test(c.image) },
    { name: "postgres_exporter", serves: (m) => /^pg_/.test(m), isContainer: (_o, c) => /postgres-exporter/.test(c.image) },
    {
      name: "pgbackrest_exporter",
      serves: (m) => /^pgbackrest_(backup|stanza|exporter|repo|wal)_/.test(m),
      isContainer: (_o, c) => /pgbackrest_exporter/.test(c.image),
    },
    { name: "the services", serves: declares, isContainer: (o, c) => o.kind === "Deployment" && SERVICES.includes(c.name) },
  ];
}
