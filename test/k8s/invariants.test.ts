import * as fs from "node:fs";
import * as path from "node:path";
import { CI_VALUES, NAMESPACE, ROOT, TOOLS_TIMEOUT_MS, WORKLOAD_KINDS, k8sTools, parseObjects, render, type K8sObject } from "./chart";

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

const PROTO_METHODS = protoMethods();
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
    for (const job of ofKind("Job")) {
      for (const c of job.spec.template.spec.containers) if (!c.resources?.requests || !c.resources?.limits) bad.push(`${id(job)}: no resources`);
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

  test("every ConfigMap and Secret a pod uses is rendered (or is the existing Secret named in values)", () => {
    const configMaps = new Set(ofKind("ConfigMap").map((o) => o.metadata.name));
    const secrets = new Set(ofKind("Secret").map((o) => o.metadata.name));
    const existing = name === "external-databases" ? "clinic-credentials" : undefined;
    const bad: string[] = [];
    const specs = [...pods.map((p) => ({ o: p.owner, spec: p.spec })), ...ofKind("Job").map((j) => ({ o: j, spec: j.spec.template.spec }))];
    for (const { o, spec } of specs) {
      for (const c of spec.containers) {
        for (const e of c.envFrom ?? []) if (e.configMapRef && !configMaps.has(e.configMapRef.name)) bad.push(`${id(o)}: ConfigMap ${e.configMapRef.name}`);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref && !secrets.has(ref.name) && ref.name !== existing) bad.push(`${id(o)}: Secret ${ref.name}`);
          if (ref && secrets.has(ref.name) && !ref.optional) {
            const secret = ofKind("Secret").find((s) => s.metadata.name === ref.name)!;
            if (!(ref.key in ((secret["stringData"] as Record<string, string>) ?? {}))) bad.push(`${id(o)}: key ${ref.key} not in Secret ${ref.name}`);
          }
        }
      }
      for (const v of spec.volumes ?? []) if (v.configMap && !configMaps.has(v.configMap.name)) bad.push(`${id(o)}: volume ConfigMap ${v.configMap.name}`);
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
