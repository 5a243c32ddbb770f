import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CI_VALUES, ISTIO_DIR, TOOLS_TIMEOUT_MS, k8sTools, render } from "./chart";

/**
 * Every rendered object, and every file in deploy/istio/, validated with `kubeconform -strict`
 * against the Kubernetes v1.37 schemas (kubernetes-validate) and the schemas of the Istio and
 * Prometheus Operator CRDs, all offline. Strict: an unknown field is an error, and an object
 * without a schema is an error too, never skipped.
 */
interface Result {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty";
  msg: string;
}

let dir: string;

beforeAll(() => {
  k8sTools();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "clinic-kubeconform-"));
}, TOOLS_TIMEOUT_MS);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function kubeconform(files: string[]): Result[] {
  const t = k8sTools();
  const args = [
    "-strict",
    "-output", "json",
    "-verbose",
    "-kubernetes-version", t.kubernetesVersion.replace(/^v/, ""),
    "-schema-location", `${t.kubernetesSchemas}/{{.ResourceKind}}{{.KindSuffix}}.json`,
    "-schema-location", `${t.crdSchemas}/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`,
    ...files,
  ];
  let out: string;
  try {
    out = execFileSync(t.kubeconform, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    // Exit 1 on invalid resources; the JSON report is still on stdout.
    out = String((err as { stdout?: string }).stdout ?? "");
    if (!out) throw err;
  }
  return (JSON.parse(out) as { resources: Result[] }).resources;
}

function problems(results: Result[]): string[] {
  // statusEmpty: a document with only comments (the header of deploy/istio/ files).
  return results.filter((r) => r.status !== "statusValid" && r.status !== "statusEmpty").map((r) => `${path.basename(r.filename)} ${r.kind}/${r.name}: ${r.status} ${r.msg}`);
}

test("every rendering of the chart and deploy/istio/ is valid", () => {
  const files = CI_VALUES.map((name) => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, render(name));
    return file;
  });
  const istio = fs.readdirSync(ISTIO_DIR).map((f) => path.join(ISTIO_DIR, f));
  const results = kubeconform([...files, ...istio]);
  expect(problems(results)).toEqual([]);
  // Each file contributed objects, and the CRD-backed kinds were validated, not skipped.
  for (const file of [...files, ...istio]) expect(results.filter((r) => r.filename === file && r.status === "statusValid").length).toBeGreaterThan(0);
  const kinds = new Set(results.map((r) => r.kind));
  for (const kind of ["Deployment", "StatefulSet", "VirtualService", "DestinationRule", "AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Gateway", "ServiceMonitor", "PrometheusRule"]) {
    expect(kinds).toContain(kind);
  }
});

test("an unknown or misplaced field is rejected (the schemas are strict)", () => {
  const rendered = render("canary");
  const broken = path.join(dir, "broken.yaml");
  fs.writeFileSync(
    broken,
    rendered
      // A Deployment field one level too deep, a misspelt Istio retry field, a bad PDB field.
      .replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  replica: 3")
      .replace("retries: { attempts: 0 }", "retries: { attemps: 0 }")
      .replace(/^spec:\n {2}maxUnavailable: 1$/m, "spec:\n  maxUnavailables: 1"),
  );
  const bad = problems(kubeconform([broken]));
  expect(bad.some((p) => /Deployment\/.*additional properties 'replica' not allowed/.test(p))).toBe(true);
  expect(bad.some((p) => /VirtualService\/.*additional properties 'attemps' not allowed/.test(p))).toBe(true);
  expect(bad.some((p) => /PodDisruptionBudget\/.*additional properties 'maxUnavailables' not allowed/.test(p))).toBe(true);
});
