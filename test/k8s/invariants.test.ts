import { X509Certificate, createPrivateKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { RULE_FILES, exporters, metricNamesOf, rulesOf, scrapeTargets, serviceMetricNames } from "./scrape-sources";
import { CI_VALUES, NAMESPACE, RELEASE, ROOT, TOOLS_TIMEOUT_MS, WORKLOAD_KINDS, k8sTools, parseObjects, render, valuesFile, type K8sObject } from "./chart";

/**
 * Properties every rendering must have, checked over the parsed objects: the references between
 * objects hold (selectors, ports, subsets, principals), the mesh never retries a write, and every
 * workload is sized, probed, locked down and protected by a disruption budget where it runs more
 * than one pod.
 */

const PROTO_DIR = path.join(ROOT, "proto/clinic");

/** Every gRPC method of the platform, `/package.Service/Method`, read from proto/. */
function protoMethods(): Set<string> {
  const methods = new Set<string>();
  for (const domain of fs.readdirSync(PROTO_DIR)) {
    const dir = path.join(PROTO_DIR, domain, "v1");
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith("_service.proto"))) {
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      const pkg = /^package\s+([\w.]+);/m.exec(text)?.[1];
      for (const service of text.matchAll(/^service\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
        for (const rpc of service[2]!.matchAll(/^\s*rpc\s+(\w+)\s*\(/gm)) methods.add(`/${pkg}.${service[1]}/${rpc[1]}`);
      }
    }
  }
  methods.add("/grpc.health.v1.Health/Check");
  return methods;
}

/**
 * The methods the services' own clients retry (`idempotentMethods`, possibly through a const
 * array in the same file): the only ones the mesh may retry too. Read from the source, so the
 * mesh cannot drift from what the code considers safe to repeat.
 */
function idempotentMethodNames(): Set<string> {
  const names = new Set<string>();
  const files: string[] = [];
  for (const service of fs.readdirSync(path.join(ROOT, "services"))) {
    const src = path.join(ROOT, "services", service, "src");
    for (const f of fs.readdirSync(src)) if (f.endsWith(".ts") && !f.endsWith(".test.ts")) files.push(path.join(src, f));
  }
  const list = (s: string) => [...s.matchAll(/"(\w+)"/g)].map((m) => m[1]!);
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/idempotentMethods:\s*(\[[^\]]*\]|\w+)/g)) {
      const ref = m[1]!;
      if (ref.startsWith("[")) list(ref).forEach((n) => names.add(n));
      else {
        const decl = new RegExp(`const ${ref}\\s*=\\s*(\\[[^\\]]*\\])`).exec(text);
        if (!decl) throw new Error(`${file}: idempotentMethods: ${ref} is not a const array in the same file`);
        list(decl[1]!).forEach((n) => names.add(n));
      }
    }
  }
  if (names.size === 0) throw new Error("no idempotentMethods found in services/*/src");
  return names;
}

/** A CI values file, as given (the chart's defaults are not merged in). */
function ciValues(name: string): any {
  return parseYaml(fs.readFileSync(valuesFile(name), "utf8")) ?? {};
}

const PROTO_METHODS = protoMethods();

interface CallMap {
  [callee: string]: { methods: Record<string, { idempotent: boolean }>; callers: Record<string, string[]> };
}

/** The chart's mesh call map (`clinic.calls` in templates/_components.tpl), as YAML. */
function chartCallMap(): CallMap {
  const tpl = fs.readFileSync(path.join(ROOT, "deploy/helm/clinic/templates/_components.tpl"), "utf8");
  const body = /define "clinic\.calls" -\}\}\n([\s\S]*?)\{\{- end -\}\}/.exec(tpl)?.[1];
  if (!body) throw new Error("no clinic.calls in templates/_components.tpl");
  return parseYaml(body) as CallMap;
}
const CALLS = chartCallMap();
const SERVICE_NAMES = ["edge", "doctor", "slot", "booking", "notifier"];
const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

/** A service's own source (src/, tests excluded) as one text. */
function serviceSource(service: string): string {
  const texts: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) texts.push(fs.readFileSync(file, "utf8"));
    }
  };
  walk(path.join(ROOT, "services", service, "src"));
  return texts.join("\n");
}

/**
 * Who calls what, read from the services' code: a caller opens a client of the callee
 * (`openGrpcClient(…, <callee>V1.<Callee>ServiceClient` or the edge's `connect(<callee>V1.…`),
 * and the callee's methods it calls are the generated client's methods (lowerCamelCase) it names.
 */
function callsInSource(): Record<string, Record<string, string[]>> {
  const found: Record<string, Record<string, string[]>> = {};
  for (const caller of SERVICE_NAMES) {
    const text = serviceSource(caller);
    for (const callee of Object.keys(CALLS)) {
      if (callee === caller) continue;
      const client = `${callee}V1\\.${callee[0]!.toUpperCase()}${callee.slice(1)}ServiceClient`;
      if (!new RegExp(`\\b(?:openGrpcClient|connect)\\([^;]*?${client}\\b`).test(text)) continue;
      const methods = Object.keys(CALLS[callee]!.methods).filter((m) => new RegExp(`\\.${lowerFirst(m)}\\b`).test(text));
      (found[callee] ??= {})[caller] = methods;
    }
  }
  return found;
}
const EXPORTERS = exporters(serviceMetricNames());
/** Every metric name the alert and recording rules of alerts.yml read. */
const ALERT_METRICS = new Set(rulesOf(RULE_FILES.alerts).flatMap((r) => [...metricNamesOf(r.expr)]));
/** The names the chart-only recording rules (deploy/observability/prometheus/backup-recording.yml) record. */
const BACKUP_RECORDED = new Set(rulesOf(RULE_FILES.backup).flatMap((r) => (r.record ? [r.record] : [])));
const IDEMPOTENT = idempotentMethodNames();

interface Pod {
  owner: K8sObject;
  labels: Record<string, string>;
  spec: any;
  replicas: number;
}

function podsOf(objects: K8sObject[]): Pod[] {
  const hpaMin = new Map<string, number>();
  for (const o of objects) if (o.kind === "HorizontalPodAutoscaler") hpaMin.set(o.spec.scaleTargetRef.name, o.spec.minReplicas);
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((o) => ({
      owner: o,
      labels: o.spec.template.metadata.labels ?? {},
      spec: o.spec.template.spec,
      replicas: hpaMin.get(o.metadata.name) ?? o.spec.replicas ?? 1,
    }));
}

/** Every pod spec a rendering runs: workloads', CronJobs' and Jobs'. */
function podSpecsOf(objects: K8sObject[]): { owner: K8sObject; spec: any }[] {
  return objects.flatMap((o) => {
    if (WORKLOAD_KINDS.has(o.kind) || o.kind === "Job") return [{ owner: o, spec: o.spec.template.spec }];
    if (o.kind === "CronJob") return [{ owner: o, spec: o.spec.jobTemplate.spec.template.spec }];
    return [];
  });
}

const allContainers = (spec: any): any[] => [...(spec.initContainers ?? []), ...spec.containers];

/**
 * An INI file (pgBackRest's configuration, pgbouncer.ini) as section -> key -> value; `;` and `#`
 * start comments.
 */
function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (!current || eq < 0) throw new Error(`not an INI line: ${line}`);
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/**
 * Patroni sets its pods' `role` label at run time (leader or replica), so a Service may select
 * a `role` no pod template has: allowed only when the selected pods are Patroni pods told, by
 * PATRONI_KUBERNETES_LEADER_LABEL_VALUE / _FOLLOWER_LABEL_VALUE, to write exactly that value.
 */
function runtimeRoleOk(selector: Record<string, string>, pods: Pod[]): boolean {
  if (!("role" in selector)) return false;
  const rest = { ...selector };
  delete rest["role"];
  const selected = pods.filter((p) => matches(rest, p.labels));
  return (
    selected.length > 0 &&
    selected.every((p) => {
      const env: { name: string; value?: string }[] = p.spec.containers[0].env ?? [];
      const values = env.filter((e) => /^PATRONI_KUBERNETES_(LEADER|FOLLOWER)_LABEL_VALUE$/.test(e.name)).map((e) => e.value);
      return values.includes(selector["role"]);
    })
  );
}

describe.each(CI_VALUES)("ci/%s.yaml", (name) => {
  let objects: K8sObject[];
  let pods: Pod[];
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);

  beforeAll(() => {
    k8sTools();
    objects = parseObjects(render(name));
    pods = podsOf(objects);
  }, TOOLS_TIMEOUT_MS);

  test("names are unique per kind", () => {
    const seen = objects.map(id);
    expect(seen.filter((x, i) => seen.indexOf(x) !== i)).toEqual([]);
  });

  test("every workload's selector matches its own pod labels", () => {
    for (const p of pods) expect([id(p.owner), matches(p.owner.spec.selector.matchLabels, p.labels)]).toEqual([id(p.owner), true]);
  });

  test("every Service selects pods, and every port it targets exists on each of them", () => {
    const bad: string[] = [];
    for (const svc of ofKind("Service")) {
      const selector: Record<string, string> = svc.spec.selector;
      if (!selector) {
        bad.push(`${id(svc)}: no selector`);
        continue;
      }
      let selected = pods.filter((p) => matches(selector, p.labels));
      if (selected.length === 0 && runtimeRoleOk(selector, pods)) {
        const rest = { ...selector };
        delete rest["role"];
        selected = pods.filter((p) => matches(rest, p.labels));
      }
      if (selected.length === 0) bad.push(`${id(svc)}: selects no pods`);
      for (const port of svc.spec.ports) {
        if (!/^(grpc|http|https|tcp)(-|$)/.test(port.name) && !port.appProtocol) bad.push(`${id(svc)}: port ${port.name} names no protocol`);
        for (const p of selected) {
          const found = p.spec.containers.some((c: any) =>
            (c.ports ?? []).some((cp: any) => (typeof port.targetPort === "string" ? cp.name === port.targetPort : cp.containerPort === (port.targetPort ?? port.port))),
          );
          if (!found) bad.push(`${id(svc)}: port ${port.name} -> ${port.targetPort} not on ${id(p.owner)}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  test("every workload container has requests, limits and probes, and runs locked down", () => {
    const bad: string[] = [];
    for (const p of pods) {
      if (p.spec.securityContext?.runAsNonRoot !== true) bad.push(`${id(p.owner)}: not runAsNonRoot`);
      for (const c of p.spec.containers) {
        const where = `${id(p.owner)}/${c.name}`;
        for (const r of ["requests", "limits"]) for (const k of ["cpu", "memory"]) if (!c.resources?.[r]?.[k]) bad.push(`${where}: no ${r}.${k}`);
        if (!c.readinessProbe) bad.push(`${where}: no readinessProbe`);
        if (!c.livenessProbe) bad.push(`${where}: no livenessProbe`);
        if (c.securityContext?.allowPrivilegeEscalation !== false) bad.push(`${where}: privilege escalation allowed`);
        if (!(c.securityContext?.capabilities?.drop ?? []).includes("ALL")) bad.push(`${where}: capabilities not dropped`);
      }
    }
    // Jobs (the backups, the hooks) and every pod's init containers: sized and locked down
    // too, though they need no probes.
    for (const { owner, spec } of podSpecsOf(objects)) {
      if (spec.securityContext?.runAsNonRoot !== true) bad.push(`${id(owner)}: not runAsNonRoot`);
      const probed = new Set(WORKLOAD_KINDS.has(owner.kind) ? spec.containers : []);
      for (const c of allContainers(spec).filter((x) => !probed.has(x))) {
        const where = `${id(owner)}/${c.name}`;
        for (const r of ["requests", "limits"]) for (const k of ["cpu", "memory"]) if (!c.resources?.[r]?.[k]) bad.push(`${where}: no ${r}.${k}`);
        if (c.securityContext?.allowPrivilegeEscalation !== false) bad.push(`${where}: privilege escalation allowed`);
        if (!(c.securityContext?.capabilities?.drop ?? []).includes("ALL")) bad.push(`${where}: capabilities not dropped`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("every container runs with a read-only root file system (Kafka's start script excepted)", () => {
    const bad: string[] = [];
    for (const { owner, spec } of podSpecsOf(objects)) {
      for (const c of allContainers(spec)) {
        // The image writes server.properties under /opt/kafka at start (templates/kafka.yaml).
        if (c.name === "kafka") continue;
        if (c.securityContext?.readOnlyRootFilesystem !== true) bad.push(`${id(owner)}/${c.name}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("the platform's own services run with a read-only root file system", () => {
    const services = pods.filter((p) => ["edge", "doctor", "slot", "booking", "notifier"].includes(p.labels["app.kubernetes.io/name"]!));
    expect(services.length).toBeGreaterThanOrEqual(5);
    for (const p of services) for (const c of p.spec.containers) expect([id(p.owner), c.securityContext.readOnlyRootFilesystem]).toEqual([id(p.owner), true]);
  });

  test("every workload with more than one pod has a PodDisruptionBudget, and every PDB selects pods", () => {
    const pdbs = ofKind("PodDisruptionBudget");
    for (const p of pods.filter((x) => x.replicas > 1)) {
      expect([id(p.owner), pdbs.some((b) => matches(b.spec.selector.matchLabels, p.labels))]).toEqual([id(p.owner), true]);
    }
    for (const b of pdbs) expect([id(b), pods.some((p) => matches(b.spec.selector.matchLabels, p.labels))]).toEqual([id(b), true]);
  });

  test("every HPA scales a rendered Deployment that leaves replicas to it", () => {
    for (const h of ofKind("HorizontalPodAutoscaler")) {
      const target = objects.find((o) => o.kind === h.spec.scaleTargetRef.kind && o.metadata.name === h.spec.scaleTargetRef.name);
      expect([id(h), target !== undefined, target?.spec.replicas]).toEqual([id(h), true, undefined]);
    }
  });

  test("every ConfigMap and Secret a pod uses is rendered (or is an existing Secret named in values)", () => {
    const configMaps = new Map(ofKind("ConfigMap").map((o) => [o.metadata.name, o]));
    const secrets = new Map(ofKind("Secret").map((o) => [o.metadata.name, o]));
    const secretKeys = (s: K8sObject) => Object.keys({ ...((s["stringData"] as object) ?? {}), ...((s.data as object) ?? {}) });
    const v = ciValues(name);
    const existing = new Set([v.secrets?.existingSecret, v.backup?.tls?.existingSecret].filter(Boolean));
    const bad: string[] = [];
    const useSecret = (o: K8sObject, ref: { name: string; key: string; optional?: boolean }, what: string) => {
      const secret = secrets.get(ref.name);
      if (!secret) {
        if (!existing.has(ref.name)) bad.push(`${id(o)}: ${what} Secret ${ref.name}`);
      } else if (!ref.optional && !secretKeys(secret).includes(ref.key)) bad.push(`${id(o)}: ${what} key ${ref.key} not in Secret ${ref.name}`);
    };
    const useConfigMap = (o: K8sObject, ref: { name: string }, keys: string[], what: string) => {
      const cm = configMaps.get(ref.name);
      if (!cm) bad.push(`${id(o)}: ${what} ConfigMap ${ref.name}`);
      else for (const key of keys) if (!(key in (cm.data ?? {}))) bad.push(`${id(o)}: ${what} key ${key} not in ConfigMap ${ref.name}`);
    };
    for (const { owner: o, spec } of podSpecsOf(objects)) {
      for (const c of allContainers(spec)) {
        for (const e of c.envFrom ?? []) if (e.configMapRef) useConfigMap(o, e.configMapRef, [], "envFrom");
        for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) useSecret(o, e.valueFrom.secretKeyRef, "env");
      }
      for (const vol of spec.volumes ?? []) {
        const sources = vol.projected?.sources ?? [vol];
        for (const s of sources) {
          const items = (x: any) => (x.items ?? []).map((i: any) => i.key);
          if (s.configMap) useConfigMap(o, s.configMap, items(s.configMap), `volume ${vol.name}`);
          if (s.secret) for (const key of items(s.secret).length ? items(s.secret) : [""]) useSecret(o, { name: s.secret.secretName ?? s.secret.name, key, optional: !key }, `volume ${vol.name}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });


  // ---- PgBouncer and pgBackRest ----------------------------------------------------------

  const configMapData = (cmName: string, key: string): string => {
    const cm = ofKind("ConfigMap").find((o) => o.metadata.name === cmName);
    if (!cm?.data?.[key]) throw new Error(`ConfigMap ${cmName} has no ${key}`);
    return cm.data[key]!;
  };
  /** A shard's leader Service: selects its Patroni pods with the role Patroni gives the primary. */
  const leaderOf = (shard: number): K8sObject => {
    const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === `${RELEASE}-booking-db-${shard}`)!;
    const env: any[] = sts.spec.template.spec.containers.find((c: any) => c.name === "patroni").env;
    const leaderRole = env.find((e) => e.name === "PATRONI_KUBERNETES_LEADER_LABEL_VALUE").value;
    const leaders = ofKind("Service").filter((s) => {
      const { role, ...rest } = s.spec.selector ?? {};
      return role === leaderRole && matches(rest, sts.spec.template.metadata.labels);
    });
    expect([shard, leaders.length]).toEqual([shard, 1]);
    return leaders[0]!;
  };
  const pgbackrestConf = (key: "db.conf" | "repo.conf") => parseIni(configMapData(`${RELEASE}-pgbackrest`, key));
  const stanzasOf = (conf: Map<string, Map<string, string>>) => [...conf.keys()].filter((s) => !s.startsWith("global"));
  const external = name === "external-databases";

  test("booking reaches every shard through its PgBouncer when pooled, and keeps its sessions on the leader Service", () => {
    const booking = configMapData(`${RELEASE}-booking`, "BOOKING_SHARDS");
    const sessionsText = ofKind("ConfigMap").find((o) => o.metadata.name === `${RELEASE}-booking`)!.data!["BOOKING_SHARD_SESSIONS"];
    const shards = booking.split(",");
    const sessions = sessionsText ? sessionsText.split(",") : [];
    const poolers = ofKind("Deployment").filter((d) => d.spec.template.spec.containers.some((c: any) => c.name === "pgbouncer"));
    const v = ciValues(name);
    if (external) {
      // The external shards as given; no PgBouncer of the chart's in front of them.
      expect(shards).toEqual(v.bookingDatabase.external.shards);
      expect(poolers).toEqual([]);
      return;
    }
    const pooled = v.pgbouncer?.enabled !== false;
    expect(poolers).toHaveLength(pooled ? shards.length : 0);
    expect(sessions).toHaveLength(pooled ? shards.length : 0);
    shards.forEach((entry, shard) => {
      const [, host, port, database] = /^([^:]+):(\d+)\/(\w+)$/.exec(entry)!;
      const leader = leaderOf(shard);
      if (!pooled) {
        expect([shard, host, Number(port)]).toEqual([shard, leader.metadata.name, leader.spec.ports[0].port]);
        return;
      }
      // The pooled address is a Service selecting this shard's PgBouncer only...
      const svc = ofKind("Service").find((s) => s.metadata.name === host)!;
      expect([shard, svc?.spec.ports.map((p: any) => p.port)]).toEqual([shard, [Number(port)]]);
      const selected = poolers.filter((d) => matches(svc.spec.selector, d.spec.template.metadata.labels));
      expect([shard, selected.length]).toEqual([shard, 1]);
      const pod = selected[0]!.spec.template.spec;
      const container = pod.containers.find((c: any) => c.name === "pgbouncer");
      expect(container.ports.map((p: any) => p.containerPort)).toContain(Number(port));
      // ...whose one database is this shard's, on its leader Service, in transaction pooling.
      const configVolume = pod.volumes.find((vol: any) => vol.configMap && container.volumeMounts.some((m: any) => m.name === vol.name && m.mountPath.endsWith(".ini")));
      const ini = parseIni(configMapData(configVolume.configMap.name, "pgbouncer.ini"));
      const server = Object.fromEntries([...ini.get("databases")!.get(database!)!.matchAll(/(\w+)=('[^']*'|\S+)/g)].map((m) => [m[1], m[2]]));
      expect([shard, server["host"], Number(server["port"]), server["dbname"]]).toEqual([shard, leader.metadata.name, leader.spec.ports[0].port, database]);
      const settings = ini.get("pgbouncer")!;
      expect([shard, settings.get("pool_mode"), settings.get("server_reset_query")]).toEqual([shard, "transaction", ""]);
      expect(settings.get("ignore_startup_parameters")!.split(",").sort()).toEqual(["extra_float_digits", "statement_timeout"]);
      expect(Number(settings.get("listen_port"))).toBe(Number(port));
      // Sessions (LISTEN, migrations) straight to the primary, never through the pooler.
      expect([shard, sessions[shard]]).toEqual([shard, `${leader.metadata.name}:${leader.spec.ports[0].port}/${database}`]);
    });
  });

  test("every database archives into its own stanza, naming its own data directory", () => {
    const databases = ofKind("StatefulSet").filter((s) => s.spec.template.spec.containers.some((c: any) => ["patroni", "postgresql"].includes(c.name)));
    if (external) {
      expect(databases).toEqual([]);
      return;
    }
    const repo = pgbackrestConf("repo.conf");
    const db = pgbackrestConf("db.conf");
    const seen: string[] = [];
    for (const sts of databases) {
      const pod = sts.spec.template.spec;
      const container = pod.containers.find((c: any) => ["patroni", "postgresql"].includes(c.name));
      const env = Object.fromEntries((container.env ?? []).filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));
      let dataDir: string;
      let params: Record<string, string>;
      let hosts: string[];
      if (container.name === "patroni") {
        dataDir = env["PATRONI_POSTGRESQL_DATA_DIR"];
        const sources = pod.volumes.find((vol: any) => vol.name === container.volumeMounts.find((m: any) => m.mountPath === "/etc/patroni").name).projected.sources;
        const withConfig = sources.map((s: any) => ofKind("ConfigMap").find((cm) => cm.metadata.name === s.configMap.name)).filter((cm: any) => cm?.data?.["patroni.yml"]);
        expect([sts.metadata.name, withConfig.length]).toEqual([sts.metadata.name, 1]);
        params = parseYaml(withConfig[0].data["patroni.yml"]).postgresql.parameters;
        // Each member by its name under the StatefulSet's headless Service.
        hosts = [...Array(sts.spec.replicas).keys()].map((m) => `${sts.metadata.name}-${m}.${sts.spec.serviceName}.${NAMESPACE}.svc`);
      } else {
        dataDir = env["PGDATA"];
        params = Object.fromEntries(container.args.filter((_: string, i: number) => container.args[i - 1] === "-c").map((a: string) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
        // The Service the backup jobs reach its pgBackRest server through.
        const svc = ofKind("Service").find((s) => s.spec.selector && matches(s.spec.selector, sts.spec.template.metadata.labels) && s.spec.ports.some((p: any) => p.targetPort === "tcp-pgbackrest"))!;
        hosts = [`${svc.metadata.name}.${NAMESPACE}.svc`];
      }
      // The stanza whose members are exactly this StatefulSet's pods...
      const stanzas = stanzasOf(repo).filter((s) => [...repo.get(s)!.entries()].filter(([k]) => /^pg\d+-host$/.test(k)).map(([, h]) => h).join() === hosts.join());
      expect([sts.metadata.name, stanzas.length]).toEqual([sts.metadata.name, 1]);
      const stanza = stanzas[0]!;
      seen.push(stanza);
      // ...is the one its archive_command pushes to, from its own data directory, as every
      // pgBackRest configuration names it.
      expect([sts.metadata.name, params["archive_mode"], params["archive_command"]]).toEqual([
        sts.metadata.name,
        "on",
        `pgbackrest --stanza=${stanza} --pg1-path=${dataDir} archive-push %p`,
      ]);
      for (const [k, path] of repo.get(stanza)!) if (/^pg\d+-path$/.test(k)) expect([stanza, k, path]).toEqual([stanza, k, dataDir]);
      expect([stanza, db.get(stanza)?.get("pg1-path")]).toEqual([stanza, dataDir]);
      // The pgBackRest server beside it sees the same data directory (a backup reads it there).
      const dataMount = container.volumeMounts.find((m: any) => dataDir.startsWith(m.mountPath + "/"));
      const sidecar = pod.containers.find((c: any) => c.name === "pgbackrest");
      expect([sts.metadata.name, sidecar?.volumeMounts.find((m: any) => m.name === dataMount.name)?.mountPath]).toEqual([sts.metadata.name, dataMount.mountPath]);
    }
    expect(seen.sort()).toEqual(stanzasOf(repo).sort());
  });

  test("backups: one CronJob per stanza, never two runs at once", () => {
    const cronJobs = ofKind("CronJob");
    if (external) {
      expect(objects.filter((o) => /pgbackrest|pgbouncer|backup/.test(o.metadata.name)).map(id)).toEqual([]);
      return;
    }
    const stanzas = stanzasOf(pgbackrestConf("repo.conf"));
    const bad: string[] = [];
    const perStanza = new Map<string, number>();
    for (const cj of cronJobs) {
      if (cj.spec.concurrencyPolicy !== "Forbid") bad.push(`${id(cj)}: concurrencyPolicy ${cj.spec.concurrencyPolicy}`);
      if (!/^\d+ \* \* \* \*$/.test(cj.spec.schedule)) bad.push(`${id(cj)}: not hourly (${cj.spec.schedule})`);
      const command: string[] = cj.spec.jobTemplate.spec.template.spec.containers[0].command;
      const stanza = stanzas.find((s) => command.at(-1) === s);
      if (!stanza) bad.push(`${id(cj)}: backs up no stanza of repo.conf (${command.join(" ")})`);
      else perStanza.set(stanza, (perStanza.get(stanza) ?? 0) + 1);
    }
    expect(bad).toEqual([]);
    expect(Object.fromEntries(perStanza)).toEqual(Object.fromEntries(stanzas.map((s) => [s, 1])));
  });

  test("the repository's cipher pass comes from a Secret, never from a file or a literal", () => {
    if (external) return;
    const confs = { "db.conf": pgbackrestConf("db.conf"), "repo.conf": pgbackrestConf("repo.conf") };
    for (const [key, conf] of Object.entries(confs)) {
      const text = configMapData(`${RELEASE}-pgbackrest`, key);
      expect([key, /^\s*repo\d+-cipher-pass\s*=/m.test(text)]).toEqual([key, false]);
      // Where the repository is reached directly it is encrypted; a repository host's clients get
      // the cipher settings from it.
      if (!conf.get("global")!.has("repo1-host")) expect([key, conf.get("global")!.get("repo1-cipher-type")]).toEqual([key, "aes-256-cbc"]);
    }
    const bad: string[] = [];
    let readers = 0;
    for (const { owner, spec } of podSpecsOf(objects)) {
      for (const c of allContainers(spec)) {
        for (const e of c.env ?? []) if (/CIPHER_PASS/.test(e.name) && !e.valueFrom?.secretKeyRef) bad.push(`${id(owner)}/${c.name}: ${e.name} not from a Secret`);
        // The configuration this container's pgBackRest reads (a mounted db.conf or repo.conf).
        const keys = (c.volumeMounts ?? []).flatMap((m: any) => {
          const vol = (spec.volumes ?? []).find((x: any) => x.name === m.name);
          const sources = vol?.projected?.sources ?? [vol];
          return sources.flatMap((s: any) => (s?.configMap?.name === `${RELEASE}-pgbackrest` ? (s.configMap.items ?? []).map((i: any) => i.key) : []));
        });
        const key = keys.find((k: string) => k.endsWith(".conf")) as "db.conf" | "repo.conf" | undefined;
        if (!key || confs[key].get("global")!.has("repo1-host")) continue;
        readers++;
        const pass = (c.env ?? []).find((e: any) => e.name === "PGBACKREST_REPO1_CIPHER_PASS");
        if (!pass?.valueFrom?.secretKeyRef) bad.push(`${id(owner)}/${c.name}: reads the repository (${key}) without PGBACKREST_REPO1_CIPHER_PASS from a Secret`);
      }
    }
    expect(bad).toEqual([]);
    expect(readers).toBeGreaterThan(0);
  });

  test("every ServiceMonitor scrapes a port of a Service it selects, each pod once", () => {
    const bad: string[] = [];
    for (const sm of ofKind("ServiceMonitor")) {
      for (const ep of sm.spec.endpoints) {
        const services = ofKind("Service").filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels ?? {}) && s.spec.ports.some((p: any) => p.name === ep.port));
        // Two Services with the port over the same pods would scrape each pod twice.
        if (services.length !== 1) bad.push(`${id(sm)}: port ${ep.port} on ${services.length} selected Services`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("every metric the alert rules read has a scrape source (the exporters' pods are scraped both ways)", () => {
    const targets = scrapeTargets(objects);
    const bad: string[] = [];
    // Without the operator (annotations only) and with it: every exporter container rendered is
    // scraped by prometheus.io annotations.
    for (const { owner, spec } of podSpecsOf(objects).filter((p) => WORKLOAD_KINDS.has(p.owner.kind))) {
      for (const c of spec.containers) {
        const exporter = EXPORTERS.find((e) => e.isContainer(owner, c));
        if (exporter && !targets.some((t) => t.via === "annotation" && t.owner === owner && t.container === c)) bad.push(`${id(owner)}/${c.name} (${exporter.name}): no annotation scrape`);
      }
    }
    const alerts = ofKind("PrometheusRule").find((r) => r.metadata.name === `${RELEASE}-alerts`);
    if (alerts) {
      // The rules as rendered (alerts.yml and the chart-only recording rules), over ServiceMonitor targets.
      const rules = ofKind("PrometheusRule").flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules as { record?: string; expr: string }[]));
      const recorded = new Map(rules.filter((r) => r.record).map((r) => [r.record!, r.expr]));
      const operatorTargets = targets.filter((t) => t.via === "ServiceMonitor");
      const sourced = (metric: string, seen: Set<string>): string | undefined => {
        if (metric === "up") return operatorTargets.length ? undefined : "up: nothing is scraped";
        const expr = recorded.get(metric);
        if (expr !== undefined) {
          if (seen.has(metric)) return undefined;
          seen.add(metric);
          return [...metricNamesOf(expr)].map((m) => sourced(m, seen)).find((why) => why !== undefined);
        }
        if (BACKUP_RECORDED.has(metric)) {
          // From pgbackrest_exporter through the chart's recording rules, which are rendered with it.
          const backups = podSpecsOf(objects).some(({ owner, spec }) => spec.containers.some((c: any) => EXPORTERS.some((e) => e.name === "pgbackrest_exporter" && e.isContainer(owner, c))));
          return backups || name === "defaults" ? `${metric}: backup-recording.yml is not rendered as a PrometheusRule` : undefined;
        }
        const exporter = EXPORTERS.find((e) => e.serves(metric));
        if (!exporter) return `${metric}: no exporter serves it (not declared by a service, no exporter's prefix)`;
        const running = podSpecsOf(objects).some(({ owner, spec }) => spec.containers.some((c: any) => exporter.isContainer(owner, c)));
        // A store outside the cluster (external-databases) is the provider's to monitor.
        if (!running && name !== "defaults") return undefined;
        const from = operatorTargets.filter((t) => exporter.isContainer(t.owner, t.container) && (!exporter.renamed || t.renamedTo.has(metric)));
        return from.length ? undefined : `${metric}: ${exporter.name} ${running ? "runs but" : "does not run and"} no ServiceMonitor ${exporter.renamed ? "renames it" : "scrapes it"}`;
      };
      for (const metric of ALERT_METRICS) {
        const why = sourced(metric, new Set());
        if (why) bad.push(why);
      }
      // Patroni's series under the local stack's job name (its file_sd targets also give shard and member).
      for (const t of operatorTargets.filter((x) => x.container.name === "patroni")) if (t.job !== "patroni") bad.push(`${id(t.owner)}: Patroni scraped as job ${t.job}`);
    }
    expect(bad).toEqual([]);
    // The check reads something: the rules (with the chart's recording rules) name series of every exporter.
    const read = [...ALERT_METRICS, ...rulesOf(RULE_FILES.backup).flatMap((r) => [...metricNamesOf(r.expr)])];
    for (const e of EXPORTERS) expect([e.name, read.some((m) => e.serves(m))]).toEqual([e.name, true]);
  });

  test("each data store's NetworkPolicy admits exactly the pods whose settings name it (and its own peers)", () => {
    const STORES = /^(kafka|redis|postgresql|booking-db-\d+|booking-db-\d+-pgbouncer)$/;
    const policies = ofKind("NetworkPolicy");
    const component = (labels: Record<string, string>) => labels["app.kubernetes.io/name"]!;
    const stores = pods.filter((p) => STORES.test(component(p.labels)));
    // Every store outside the cluster: nothing to protect here.
    expect(stores.length > 0).toBe(!external);
    if (external) expect(policies.map(id)).toEqual([]);
    const podLabels = (o: K8sObject) => (o.kind === "CronJob" ? o.spec.jobTemplate.spec.template : o.spec.template).metadata.labels ?? {};
    /** Everything a pod is told: its containers' env values, commands and args, and the ConfigMap keys it reads. */
    const settingsText = (spec: any): string => {
      const parts: string[] = [];
      const cm = (n: string) => ofKind("ConfigMap").find((c) => c.metadata.name === n)?.data ?? {};
      for (const c of allContainers(spec)) {
        parts.push(...(c.command ?? []), ...(c.args ?? []), ...(c.env ?? []).map((e: any) => e.value ?? ""));
        for (const e of c.envFrom ?? []) if (e.configMapRef) parts.push(...Object.values(cm(e.configMapRef.name)));
      }
      for (const vol of spec.volumes ?? []) {
        for (const src of vol.projected?.sources ?? [vol]) {
          if (!src.configMap) continue;
          const data = cm(src.configMap.name);
          const keys = src.configMap.items ? src.configMap.items.map((i: any) => i.key) : Object.keys(data);
          parts.push(...keys.map((k: string) => data[k] ?? ""));
        }
      }
      return parts.join("\n");
    };
    const bad: string[] = [];
    const scrapePorts = new Set(scrapeTargets(objects).map((t) => t.containerPort));
    for (const store of stores) {
      const own = component(store.labels);
      const policy = policies.filter((p) => matches(p.spec.podSelector.matchLabels, store.labels));
      if (policy.length !== 1) {
        bad.push(`${id(store.owner)}: ${policy.length} NetworkPolicies select it`);
        continue;
      }
      // The names it is reached by: every Service selecting its pods (Patroni's role aside).
      const names = ofKind("Service")
        .filter((svc) => {
          const sel = { ...(svc.spec.selector ?? {}) };
          delete sel["role"];
          return Object.keys(sel).length > 0 && matches(sel, store.labels);
        })
        .map((svc) => svc.metadata.name);
      const named = new RegExp(`(^|[^\\w-])(${names.join("|")})($|[^\\w-])`, "m");
      const clients = new Set(
        podSpecsOf(objects)
          .filter(({ spec }) => named.test(settingsText(spec)))
          .map(({ owner }) => component(podLabels(owner)))
          .filter((c) => c !== own),
      );
      const rules: any[] = policy[0]!.spec.ingress;
      const admitted = new Set(
        podSpecsOf(objects)
          .filter(({ owner }) => rules.some((r) => (r.from ?? []).some((f: any) => f.podSelector && matches(f.podSelector.matchLabels, podLabels(owner)))))
          .map(({ owner }) => component(podLabels(owner)))
          .filter((c) => c !== own),
      );
      expect([own, [...admitted].sort()]).toEqual([own, [...clients].sort()]);
      // Anyone (or networkPolicies.metricsFrom) only on ports Prometheus scrapes.
      for (const r of rules.filter((x) => !(x.from ?? []).some((f: any) => f.podSelector))) {
        for (const port of r.ports ?? [{ port: "every port" }]) if (!scrapePorts.has(port.port)) bad.push(`${id(policy[0]!)}: port ${port.port} open beyond its clients`);
      }
    }
    expect(bad).toEqual([]);
  });

  const istio = name !== "no-istio";
  // The mesh's own checks exist only for renderings with the mesh.
  const meshTest = istio ? test : () => undefined;

  test(istio ? "the mesh is on: mTLS STRICT, deny-all and one ALLOW per service" : "no Istio object without the mesh", () => {
    const meshKinds = ["PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication", "VirtualService", "DestinationRule", "Gateway"];
    if (!istio) {
      expect(objects.filter((o) => meshKinds.includes(o.kind)).map(id)).toEqual([]);
      return;
    }
    const namespaceWide = ofKind("PeerAuthentication").filter((p) => !p.spec.selector);
    expect(namespaceWide.map((p) => p.spec.mtls.mode)).toEqual(["STRICT"]);
    const denyAll = ofKind("AuthorizationPolicy").filter((p) => Object.keys(p.spec).length === 0);
    expect(denyAll).toHaveLength(1);
    for (const svc of ["edge", "doctor", "slot", "booking", "notifier"]) {
      const allow = ofKind("AuthorizationPolicy").filter((p) => p.spec.action === "ALLOW" && p.spec.selector?.matchLabels["app.kubernetes.io/name"] === svc);
      expect([svc, allow.length]).toEqual([svc, 1]);
    }
  });

  meshTest("service pods wait for their sidecar, and their migrate init container reaches its databases around it", () => {
    const bad: string[] = [];
    const services = pods.filter((p) => ["edge", "doctor", "slot", "booking", "notifier"].includes(p.labels["app.kubernetes.io/name"]!));
    expect(services.length).toBeGreaterThanOrEqual(5);
    for (const p of services) {
      const annotations = p.owner.spec.template.metadata.annotations ?? {};
      const proxy = JSON.parse(annotations["proxy.istio.io/config"] ?? "{}");
      if (proxy.holdApplicationUntilProxyStarts !== true) bad.push(`${id(p.owner)}: holdApplicationUntilProxyStarts not set`);
      // Every database port in the service's own settings (PGPORT, the shards' host:port/db).
      const cm = ofKind("ConfigMap").find((c) => c.metadata.name === p.spec.containers[0].envFrom[0].configMapRef.name)!.data!;
      const ports = new Set<string>([cm["PGPORT"], ...[cm["BOOKING_SHARDS"], cm["BOOKING_SHARD_SESSIONS"]].flatMap((v) => [...(v ?? "").matchAll(/:(\d+)\//g)].map((m) => m[1]))].filter((x): x is string => !!x));
      const excluded = new Set((annotations["traffic.sidecar.istio.io/excludeOutboundPorts"] ?? "").split(","));
      for (const port of ports) if (!excluded.has(port)) bad.push(`${id(p.owner)}: database port ${port} goes through the sidecar, which is not up for the migrate init container`);
      if (!(p.spec.initContainers ?? []).some((c: any) => c.name === "migrate")) bad.push(`${id(p.owner)}: no migrate init container`);
    }
    expect(bad).toEqual([]);
  });

  meshTest("AuthorizationPolicies name rendered ServiceAccounts, real gRPC methods and ports their pods open", () => {
    const accounts = new Set(ofKind("ServiceAccount").map((o) => `cluster.local/ns/${NAMESPACE}/sa/${o.metadata.name}`));
    const bad: string[] = [];
    let principals = 0;
    for (const policy of ofKind("AuthorizationPolicy").filter((p) => p.spec.action === "ALLOW")) {
      const selected = pods.filter((p) => matches(policy.spec.selector.matchLabels, p.labels));
      if (selected.length === 0) bad.push(`${id(policy)}: selects no pods`);
      const openPorts = new Set(selected.flatMap((p) => p.spec.containers.flatMap((c: any) => (c.ports ?? []).map((cp: any) => String(cp.containerPort)))));
      for (const rule of policy.spec.rules) {
        for (const from of rule.from ?? []) {
          for (const principal of from.source.principals ?? []) {
            principals++;
            const gateway = principal === "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
            if (!accounts.has(principal) && !gateway) bad.push(`${id(policy)}: principal ${principal} is not a rendered ServiceAccount`);
          }
        }
        for (const to of rule.to ?? []) {
          for (const port of to.operation.ports ?? []) if (!openPorts.has(port)) bad.push(`${id(policy)}: port ${port} not opened by its pods`);
          for (const p of to.operation.paths ?? []) {
            if (p.startsWith("/clinic.") || p.startsWith("/grpc.")) {
              if (!PROTO_METHODS.has(p)) bad.push(`${id(policy)}: ${p} is no gRPC method`);
            }
          }
        }
      }
    }
    expect(bad).toEqual([]);
    expect(principals).toBeGreaterThan(5);
    // Every method some caller needs is allowed for somebody (none forgotten).
    const allowed = new Set(ofKind("AuthorizationPolicy").flatMap((p) => (p.spec.rules ?? []).flatMap((r: any) => (r.to ?? []).flatMap((t: any) => t.operation.paths ?? []))));
    expect([...PROTO_METHODS].filter((m) => !allowed.has(m))).toEqual([]);
  });

  meshTest("each principal is the ServiceAccount of its caller's pods, allowed exactly the methods the call map gives that caller", () => {
    // ServiceAccount -> the components whose pods run as it (every track: stable and canary).
    const components = new Map<string, Set<string>>();
    for (const p of pods) {
      const sa = p.spec.serviceAccountName ?? "default";
      if (!components.has(sa)) components.set(sa, new Set());
      components.get(sa)!.add(p.labels["app.kubernetes.io/name"]!);
    }
    const bad: string[] = [];
    const allowedFromSource: Record<string, Record<string, string[]>> = {};
    for (const callee of Object.keys(CALLS)) {
      const policy = ofKind("AuthorizationPolicy").find((p) => p.spec.action === "ALLOW" && p.spec.selector?.matchLabels["app.kubernetes.io/name"] === callee)!;
      for (const rule of policy.spec.rules) {
        for (const principal of (rule.from ?? []).flatMap((f: any) => f.source.principals ?? [])) {
          const m = new RegExp(`^cluster\\.local/ns/${NAMESPACE}/sa/(.+)$`).exec(principal);
          const owners = m ? [...(components.get(m[1]!) ?? [])] : [];
          if (owners.length !== 1) {
            bad.push(`${id(policy)}: ${principal} is the ServiceAccount of ${owners.length ? owners.join(", ") : "no pods"}`);
            continue;
          }
          const caller = owners[0]!;
          const methods = (rule.to ?? []).flatMap((t: any) => t.operation.paths ?? []).map((p: string) => p.split("/").pop()!).filter((m: string) => m !== "Check");
          (allowedFromSource[callee] ??= {})[caller] = [...((allowedFromSource[callee] ?? {})[caller] ?? []), ...methods];
        }
      }
      // Every pod of every caller runs as the ServiceAccount its principal names.
      for (const caller of Object.keys(CALLS[callee]!.callers)) {
        for (const p of pods.filter((x) => x.labels["app.kubernetes.io/name"] === caller)) {
          const principal = `cluster.local/ns/${NAMESPACE}/sa/${p.spec.serviceAccountName}`;
          const named = policy.spec.rules.some((r: any) => (r.from ?? []).some((f: any) => (f.source.principals ?? []).includes(principal)));
          if (!named) bad.push(`${id(p.owner)} (a caller of ${callee}) runs as ${p.spec.serviceAccountName}, which ${id(policy)} does not name`);
        }
      }
    }
    expect(bad).toEqual([]);
    const sorted = (m: Record<string, Record<string, string[]>>) =>
      Object.fromEntries(Object.entries(m).map(([callee, callers]) => [callee, Object.fromEntries(Object.entries(callers).map(([c, ms]) => [c, [...ms].sort()]))]));
    const expected = Object.fromEntries(Object.entries(CALLS).map(([callee, v]) => [callee, v.callers]));
    expect(sorted(allowedFromSource)).toEqual(sorted(expected));
  });

  meshTest("VirtualServices route to rendered Services and ports, and to subsets their DestinationRules define", () => {
    const services = new Map(ofKind("Service").map((s) => [`${s.metadata.name}.${NAMESPACE}.svc.cluster.local`, s]));
    const rules = new Map(ofKind("DestinationRule").map((d) => [d.spec.host, d]));
    const bad: string[] = [];
    for (const vs of ofKind("VirtualService")) {
      for (const route of vs.spec.http) {
        const weights = route.route.reduce((sum: number, r: any) => sum + (r.weight ?? 100), 0);
        if (route.route.length > 1 && weights !== 100) bad.push(`${id(vs)}/${route.name}: weights add up to ${weights}`);
        for (const { destination } of route.route) {
          const svc = services.get(destination.host);
          if (!svc) bad.push(`${id(vs)}: host ${destination.host} is not a rendered Service`);
          else if (!svc.spec.ports.some((p: any) => p.port === destination.port.number)) bad.push(`${id(vs)}: ${destination.host} has no port ${destination.port.number}`);
          if (destination.subset) {
            const dr = rules.get(destination.host);
            if (!dr?.spec.subsets?.some((s: any) => s.name === destination.subset)) bad.push(`${id(vs)}: subset ${destination.subset} of ${destination.host} not defined`);
            const subset = dr?.spec.subsets?.find((s: any) => s.name === destination.subset);
            if (subset && weightOf(route, destination.subset) > 0 && !pods.some((p) => matches(subset.labels, p.labels))) {
              bad.push(`${id(vs)}: subset ${destination.subset} gets traffic but selects no pods`);
            }
          }
        }
      }
    }
    for (const dr of ofKind("DestinationRule")) if (!services.has(dr.spec.host)) bad.push(`${id(dr)}: host ${dr.spec.host} is not a rendered Service`);
    expect(bad).toEqual([]);
  });

  meshTest("no route retries a write: retries only where every matched method is idempotent", () => {
    const bad: string[] = [];
    let retried = 0;
    for (const vs of ofKind("VirtualService")) {
      for (const route of vs.spec.http) {
        // Istio retries by default: every route must say what it wants.
        if (!route.retries) {
          bad.push(`${id(vs)}/${route.name}: no retries setting (Istio's default retries)`);
          continue;
        }
        if (route.retries.attempts === 0) continue;
        retried++;
        if (vs.spec.gateways) {
          const methods = (route.match ?? []).map((m: any) => m.method?.exact);
          if (methods.length === 0 || methods.some((m: string | undefined) => m !== "GET" && m !== "HEAD")) bad.push(`${id(vs)}/${route.name}: retries a non-GET request`);
          continue;
        }
        if (!route.match?.length) bad.push(`${id(vs)}/${route.name}: retries without matching methods`);
        for (const m of route.match ?? []) {
          const uri: string | undefined = m.uri?.exact;
          const method = uri?.split("/").pop();
          if (!uri || !PROTO_METHODS.has(uri) || !IDEMPOTENT.has(method!)) bad.push(`${id(vs)}/${route.name}: retries ${uri ?? JSON.stringify(m)}, not an idempotent method`);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(retried).toBeGreaterThan(0);
    // The writes the issue names explicitly are matched by a route without retries.
    const booking = ofKind("VirtualService").find((v) => v.metadata.name === "clinic-booking")!;
    const routeOf = (method: string) => booking.spec.http.find((r: any) => (r.match ?? []).some((m: any) => m.uri?.exact === `/clinic.booking.v1.BookingService/${method}`));
    for (const write of ["CreateBooking", "ConfirmBooking", "CancelBooking"]) expect([write, routeOf(write)?.retries]).toEqual([write, { attempts: 0 }]);
  });

  meshTest("the public route lets availability streams last: the first match for them, with no timeout", () => {
    const edge = ofKind("VirtualService").find((v) => v.metadata.name === "clinic-edge-public")!;
    const first = edge.spec.http.find((r: any) =>
      (r.match ?? []).some((m: any) => (m.uri === undefined || m.uri.exact === "/api/v1/availability/stream") && (m.method === undefined || m.method.exact === "GET")),
    );
    expect(first?.name).toBe("live-availability");
    expect({ timeout: first.timeout, perTryTimeout: first.retries?.perTryTimeout }).toEqual({ timeout: undefined, perTryTimeout: undefined });
    // Each open stream is a lasting request to the edge: its pool is not the gRPC services'.
    const pool = ofKind("DestinationRule").find((d) => d.metadata.name === "clinic-edge")!.spec.trafficPolicy.connectionPool;
    expect(pool.http.http2MaxRequests).toBeGreaterThanOrEqual(10_000);
    expect(pool.tcp.maxConnections).toBeGreaterThanOrEqual(10_000);
  });

  meshTest("booking's canary gets exactly the configured share", () => {
    const booking = ofKind("VirtualService").find((v) => v.metadata.name === "clinic-booking")!;
    const canary = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "clinic-booking-canary");
    for (const route of booking.spec.http) {
      if (name === "canary") expect([route.name, weightOf(route, "stable"), weightOf(route, "canary")]).toEqual([route.name, 90, 10]);
      else expect([route.name, weightOf(route, "stable"), weightOf(route, "canary")]).toEqual([route.name, 100, 0]);
    }
    expect(canary !== undefined).toBe(name === "canary");
  });
});

function weightOf(route: any, subset: string): number {
  return route.route.filter((r: any) => r.destination.subset === subset).reduce((s: number, r: any) => s + (r.weight ?? 100), 0);
}

/**
 * Without backup.tls.existingSecret the chart makes the certificate itself (one per rendering,
 * so no golden file holds it): every name a pgBackRest client dials must be in it, and it must be
 * the client certificate every server accepts.
 */
describe("the certificate the chart generates for pgBackRest", () => {
  let objects: K8sObject[];

  beforeAll(() => {
    k8sTools();
    objects = parseObjects(render("defaults", ["--set", "backup.tls.existingSecret="]));
  }, TOOLS_TIMEOUT_MS);

  test("covers every host the backup jobs and the databases dial, and is the client every server authorizes", () => {
    const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === `${RELEASE}-pgbackrest-tls`)!;
    expect(secret["type"]).toBe("kubernetes.io/tls");
    const pem = (key: string) => Buffer.from((secret.data as Record<string, string>)[key]!, "base64").toString();
    const ca = new X509Certificate(pem("ca.crt"));
    const cert = new X509Certificate(pem("tls.crt"));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(pem("tls.key")))).toBe(true);

    const conf = (key: string) => parseIni(objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === `${RELEASE}-pgbackrest`)!.data![key]!);
    const repo = conf("repo.conf");
    const db = conf("db.conf");
    const hosts = [...repo.values(), ...db.values()].flatMap((section) => [...section.entries()].filter(([k]) => /^(pg|repo)\d+-host$/.test(k)).map(([, v]) => v));
    // Every member of 4 shards of 3, the services' PostgreSQL and the repository host.
    expect(new Set(hosts).size).toBe(4 * 3 + 2);
    expect(hosts.filter((h) => cert.checkHost(h) === undefined)).toEqual([]);
    // Not a wildcard for anything: a name outside the release's Services is refused.
    expect(cert.checkHost(`${RELEASE}-booking-db-0-0.elsewhere.${NAMESPACE}.svc`)).toBeUndefined();

    const cn = /CN=([^\n,]+)/.exec(cert.subject)![1];
    for (const [key, c] of [["repo.conf", repo], ["db.conf", db]] as const) {
      expect([key, c.get("global:server")!.get("tls-server-auth")]).toEqual([key, `${cn}=*`]);
    }
  });

  test("a Secret named in backup.tls.existingSecret replaces it", () => {
    const given = parseObjects(render("defaults"));
    expect(given.filter((o) => o.kind === "Secret" && o.metadata.name === `${RELEASE}-pgbackrest-tls`)).toEqual([]);
  });
});

describe("the mesh's call map (templates/_components.tpl)", () => {
  test("is exactly the gRPC clients the services open and the methods they call on them", () => {
    const sorted = (m: Record<string, Record<string, string[]>>) =>
      Object.fromEntries(
        Object.entries(m)
          .filter(([, callers]) => Object.keys(callers).length > 0)
          .map(([callee, callers]) => [callee, Object.fromEntries(Object.entries(callers).map(([c, ms]) => [c, [...ms].sort()]))]),
      );
    const fromSource = callsInSource();
    // The parse finds something: the edge calls every service.
    expect(Object.keys(fromSource).sort()).toEqual(["booking", "doctor", "notifier", "slot"]);
    expect(sorted(fromSource)).toEqual(sorted(Object.fromEntries(Object.entries(CALLS).map(([callee, v]) => [callee, v.callers]))));
  });

  test("lists every method of each service's proto, with its idempotency as the callers retry it", () => {
    for (const [callee, v] of Object.entries(CALLS)) {
      const protoMethods = [...PROTO_METHODS].filter((m) => m.startsWith(`/clinic.${callee}.v1.`)).map((m) => m.split("/").pop()!);
      expect([callee, Object.keys(v.methods).sort()]).toEqual([callee, protoMethods.sort()]);
      for (const [method, { idempotent }] of Object.entries(v.methods)) if (idempotent) expect([callee, method, IDEMPOTENT.has(method)]).toEqual([callee, method, true]);
    }
  });
});
