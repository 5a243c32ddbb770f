import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { CHART, NAMESPACE, RELEASE, TOOLS_TIMEOUT_MS, k8sTools, parseObjects, render, valuesFile, type K8sObject } from "./chart";
import { ControlPlane } from "./control-plane";

/**
 * The chart against a real kube-apiserver (and etcd) started here on loopback: the Istio and
 * Prometheus Operator CRDs are applied, `helm install` puts every object of the default values
 * in by server-side apply (so the API server's own validation, CEL rules, defaulting and
 * admission run on each), `helm upgrade` to the canary values is applied on top, and every other
 * CI rendering passes a server-side dry run.
 */
const run = promisify(execFile);
let cp: ControlPlane;
let dir: string;

beforeAll(async () => {
  const tools = k8sTools();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "clinic-apiserver-"));
  cp = new ControlPlane(tools, dir);
  await cp.start();
  await cp.discover();
}, TOOLS_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function helmCli(args: string[]): Promise<string> {
  const t = k8sTools();
  try {
    const { stdout } = await run(t.helm, [...args, "--kubeconfig", cp.kubeconfig], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, HELM_CACHE_HOME: path.join(dir, "helm-cache"), HELM_CONFIG_HOME: path.join(dir, "helm-config"), HELM_DATA_HOME: path.join(dir, "helm-data") },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(" ")} failed: ${e.stderr ?? e.message}\n${cp.logs()}`, { cause: err });
  }
}

const isHook = (o: K8sObject) => Boolean(o.metadata.annotations?.["helm.sh/hook"]);

/**
 * The release's namespace enforces (and warns about) Pod Security's `restricted` profile, so
 * every pod the platform runs must meet it: PodSecurity admission checks each Pod at creation
 * (and warns about each workload's pod template).
 */
const RESTRICTED = { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" };

async function createNamespace(name: string, labels: Record<string, string> = RESTRICTED): Promise<void> {
  const res = await cp.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }, name);
  expect([name, res.status]).toEqual([name, expect.any(Number)]);
  if (res.status >= 300) throw new Error(`namespace ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}

test("the Istio and Prometheus Operator CRDs are accepted and established", async () => {
  const t = k8sTools();
  const files = [t.istioCrds, ...["servicemonitors", "prometheusrules"].map((n) => path.join(t.monitoringCrds, `monitoring.coreos.com_${n}.yaml`))];
  const names: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
      const crd = doc.toJS() as K8sObject | null;
      if (!crd || crd.kind !== "CustomResourceDefinition") continue;
      const res = await cp.apply(crd, "");
      expect([crd.metadata.name, res.status]).toEqual([crd.metadata.name, 201]);
      names.push(crd.metadata.name);
    }
  }
  expect(names.length).toBeGreaterThanOrEqual(17);
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const res = await cp.request("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const established = (res.body.status?.conditions ?? []).some((c: any) => c.type === "Established" && c.status === "True");
      if (established) break;
      if (Date.now() > deadline) throw new Error(`${name} not established`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await cp.discover();
}, 120_000);

test("helm install (server-side apply) stores every object of the default values", async () => {
  await createNamespace(NAMESPACE);
  await helmCli(["install", RELEASE, CHART, "--namespace", NAMESPACE, "-f", valuesFile("defaults"), "--no-hooks"]);

  const objects = parseObjects(render("defaults"));
  const missing: string[] = [];
  let stored = 0;
  for (const o of objects.filter((x) => !isHook(x))) {
    const res = await cp.get(o, NAMESPACE);
    if (res.status !== 200) {
      missing.push(`${o.kind}/${o.metadata.name}: ${res.status}`);
      continue;
    }
    stored++;
    // Written by Helm through server-side apply, not by a client-side merge.
    const managers = (res.body.metadata.managedFields ?? []).map((f: any) => `${f.manager}:${f.operation}`);
    if (!managers.includes("helm:Apply")) missing.push(`${o.kind}/${o.metadata.name}: managed by ${managers.join(",")}`);
  }
  expect(missing).toEqual([]);
  expect(stored).toBeGreaterThan(80);

  // Helm leaves hooks out with --no-hooks; the topic Job goes in by server-side apply directly.
  for (const hook of objects.filter(isHook)) {
    const res = await cp.apply(hook, NAMESPACE);
    expect([hook.metadata.name, res.status, res.body.message]).toEqual([hook.metadata.name, 201, undefined]);
  }

  // The API server defaulted and allocated what a cluster would.
  const deployment = await cp.get({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "clinic-booking" } }, NAMESPACE);
  expect(deployment.body.spec.progressDeadlineSeconds).toBe(600);
  expect(deployment.body.spec.template.spec.containers[0].terminationMessagePath).toBe("/dev/termination-log");
  const service = await cp.get({ apiVersion: "v1", kind: "Service", metadata: { name: "clinic-booking" } }, NAMESPACE);
  expect(service.body.spec.clusterIP).toMatch(/^10\.96\./);
  const leader = await cp.get({ apiVersion: "v1", kind: "Service", metadata: { name: "clinic-booking-db-0-config" } }, NAMESPACE);
  expect(leader.body.spec.clusterIP).toBe("None");
  // The backup schedule as the CronJob controller will read it: its time zone accepted, runs
  // never overlapping.
  const backup = await cp.get({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "clinic-backup-booking-0" } }, NAMESPACE);
  expect([backup.body.spec.schedule, backup.body.spec.timeZone, backup.body.spec.concurrencyPolicy]).toEqual(["0 * * * *", "Etc/UTC", "Forbid"]);
}, 300_000);

/** Every pod template of a rendering, with where it comes from. */
function podTemplates(objects: K8sObject[]): { owner: K8sObject; template: any }[] {
  return objects.flatMap((o) => {
    if (["Deployment", "StatefulSet", "Job"].includes(o.kind)) return [{ owner: o, template: o.spec.template }];
    if (o.kind === "CronJob") return [{ owner: o, template: o.spec.jobTemplate.spec.template }];
    return [];
  });
}

test.each(["defaults", "backup-s3", "no-istio"])(
  "ci/%s.yaml: every pod it runs is admitted under Pod Security `restricted`, without a warning",
  async (name) => {
    const namespace = `psa-${name}`;
    await createNamespace(namespace);
    const objects = parseObjects(render(name, [], namespace));
    const problems: string[] = [];
    // A Pod needs its ServiceAccount to exist (admission looks it up); without a controller
    // manager nobody makes `default`, which the topic Job runs as.
    const accounts = [...objects.filter((o) => o.kind === "ServiceAccount"), { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }];
    for (const sa of accounts) {
      const res = await cp.apply(sa, namespace);
      if (res.status >= 300) problems.push(`ServiceAccount/${sa.metadata.name}: ${res.status} ${res.body.message}`);
    }
    let pods = 0;
    for (const { owner, template } of podTemplates(objects)) {
      // The workload itself: PodSecurity warns about its template.
      const workload = await cp.apply(owner, namespace, { dryRun: true });
      for (const w of workload.warnings) problems.push(`${owner.kind}/${owner.metadata.name}: ${w}`);
      // A Pod from the template, as its controller would create it: enforced.
      // A StatefulSet's pods get a volume per claim template from the controller.
      const claims = (owner.spec.volumeClaimTemplates ?? []).map((c: any) => ({ name: c.metadata.name, persistentVolumeClaim: { claimName: `${c.metadata.name}-${owner.metadata.name}-0` } }));
      const spec = { ...template.spec, volumes: [...(template.spec.volumes ?? []), ...claims] };
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: `${owner.metadata.name}-probe`.slice(0, 63), labels: template.metadata.labels }, spec };
      const res = await cp.apply(pod, namespace, { dryRun: true });
      pods++;
      if (res.status >= 300) problems.push(`Pod of ${owner.kind}/${owner.metadata.name}: ${res.status} ${res.body.message}`);
    }
    expect(problems).toEqual([]);
    expect(pods).toBeGreaterThan(10);
  },
  300_000,
);

test("Pod Security `restricted` is enforced here: a pod that may escalate is refused, its workload warned about", async () => {
  const objects = parseObjects(render("defaults"));
  const template = structuredClone(objects.find((o) => o.kind === "Deployment" && o.metadata.name === "clinic-doctor")!.spec.template);
  template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  await createNamespace("psa-refused");
  expect((await cp.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: template.spec.serviceAccountName } }, "psa-refused")).status).toBe(201);
  const res = await cp.apply({ apiVersion: "v1", kind: "Pod", metadata: { name: "escalating", labels: template.metadata.labels }, spec: template.spec }, "psa-refused", { dryRun: true });
  expect(res.status).toBe(403);
  expect(res.body.message).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  // A workload with such a template is stored, with the warning the test above looks for.
  const deployment = structuredClone(objects.find((o) => o.kind === "Deployment" && o.metadata.name === "clinic-doctor")!);
  deployment.spec.template = template;
  const warned = await cp.apply(deployment, "psa-refused", { dryRun: true });
  expect([warned.status, warned.warnings.join("\n")]).toEqual([201, expect.stringMatching(/would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/)]);
}, 60_000);

test("helm upgrade to the canary values moves 10 % of booking calls to the canary", async () => {
  await helmCli(["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "-f", valuesFile("canary"), "--no-hooks"]);
  const releases = JSON.parse(await helmCli(["list", "--namespace", NAMESPACE, "-o", "json"])) as { name: string; revision: string; status: string }[];
  expect(releases.map((r) => [r.name, String(r.revision), r.status])).toEqual([[RELEASE, "2", "deployed"]]);

  const canary = await cp.get({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "clinic-booking-canary" } }, NAMESPACE);
  expect(canary.status).toBe(200);
  expect(canary.body.spec.template.metadata.labels.version).toBe("canary");
  expect(canary.body.spec.template.spec.containers[0].image).toBe("registry.example.com/clinic/booking:0.2.0-rc.1");

  const vs = await cp.get({ apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "clinic-booking" } }, NAMESPACE);
  for (const route of vs.body.spec.http) {
    const weights = Object.fromEntries(route.route.map((r: any) => [r.destination.subset, r.weight]));
    expect([route.name, weights]).toEqual([route.name, { stable: 90, canary: 10 }]);
  }
  // Everything of the canary rendering is there after the upgrade.
  const missing: string[] = [];
  for (const o of parseObjects(render("canary")).filter((x) => !isHook(x))) {
    if ((await cp.get(o, NAMESPACE)).status !== 200) missing.push(`${o.kind}/${o.metadata.name}`);
  }
  expect(missing).toEqual([]);
}, 300_000);

test.each(["backup-s3", "external-databases", "kafka-3-nodes", "no-istio"])("ci/%s.yaml: every object passes a server-side apply dry run", async (name) => {
  const namespace = `ci-${name}`;
  await createNamespace(namespace);
  const objects = parseObjects(render(name, [], namespace));
  const refused: string[] = [];
  for (const o of objects) {
    const res = await cp.apply(o, namespace, { dryRun: true });
    if (res.status >= 300) refused.push(`${o.kind}/${o.metadata.name}: ${res.status} ${res.body.message}`);
  }
  expect(refused).toEqual([]);
  expect(objects.length).toBeGreaterThan(40);
}, 300_000);

test("the API server refuses what its validation forbids (the checks above can fail)", async () => {
  const objects = parseObjects(render("defaults"));
  const deployment = structuredClone(objects.find((o) => o.kind === "Deployment" && o.metadata.name === "clinic-doctor")!);
  deployment.spec.replicas = -1;
  const badDeployment = await cp.apply(deployment, NAMESPACE, { dryRun: true });
  expect(badDeployment.status).toBe(422);
  expect(badDeployment.body.message).toMatch(/spec.replicas/);

  // A CEL rule of Istio's CRD: selector label keys may not hold wildcards.
  const peer = structuredClone(objects.find((o) => o.kind === "PeerAuthentication" && o.metadata.name === "clinic-booking")!);
  peer.spec.selector.matchLabels = { "app.kubernetes.io/*": "booking" };
  const badPeer = await cp.apply(peer, NAMESPACE, { dryRun: true });
  expect(badPeer.status).toBe(422);
  expect(badPeer.body.message).toMatch(/wildcard/i);

  // A CronJob's time zone must be one the API server knows.
  const cronJob = structuredClone(objects.find((o) => o.kind === "CronJob" && o.metadata.name === "clinic-backup-services")!);
  cronJob.spec.timeZone = "Mars/Olympus_Mons";
  const badCronJob = await cp.apply(cronJob, NAMESPACE, { dryRun: true });
  expect(badCronJob.status).toBe(422);
  expect(badCronJob.body.message).toMatch(/timeZone/);
}, 60_000);
