import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";

/** The repository root. */
export const ROOT = path.resolve(__dirname, "../..");
export const CHART = path.join(ROOT, "deploy/helm/clinic");
export const GOLDEN_DIR = path.join(CHART, "ci/golden");
export const ISTIO_DIR = path.join(ROOT, "deploy/istio");
export const RELEASE = "clinic";
export const NAMESPACE = "clinic";

/** The CI values files (deploy/helm/clinic/ci/*.yaml), each rendered and checked. */
export const CI_VALUES = fs
  .readdirSync(path.join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""))
  .sort();

/** Set to regenerate the golden files and deploy/istio/ instead of comparing with them. */
export const UPDATE_GOLDEN = process.env["CLINIC_UPDATE_GOLDEN"] === "1";

export interface K8sTools {
  helm: string;
  kubeconform: string;
  kubeApiserver: string;
  etcd: string;
  kubernetesSchemas: string;
  crdSchemas: string;
  istioCrds: string;
  monitoringCrds: string;
  kubernetesVersion: string;
}

let tools: K8sTools | undefined;

/**
 * The tools' paths from scripts/k8s-tools, which builds whatever is not cached yet (the first
 * time on a machine: minutes; `npm test` runs it before jest, so here it only answers).
 */
export function k8sTools(): K8sTools {
  tools ??= JSON.parse(
    execFileSync("bash", [path.join(ROOT, "scripts/k8s-tools"), "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 60 * 60 * 1000,
    }),
  ) as K8sTools;
  return tools;
}

/** Enough time for a cold tool build when a k8s test file runs on its own. */
export const TOOLS_TIMEOUT_MS = 60 * 60 * 1000;

export function valuesFile(name: string): string {
  return path.join(CHART, "ci", `${name}.yaml`);
}

/** Runs helm; its notes about the chart's symlinked files (stderr, level=INFO) are dropped. */
export function helm(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(k8sTools().helm, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...env, HELM_CACHE_HOME: helmHome("cache"), HELM_CONFIG_HOME: helmHome("config"), HELM_DATA_HOME: helmHome("data") },
  });
}

/** Helm's own state out of the user's home: the tests must not depend on or change it. */
function helmHome(kind: string): string {
  const dir = path.join(ROOT, ".state", "helm", kind);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** `helm template` of the chart with one CI values file (and extra flags), as YAML text. */
export function render(values: string, extra: string[] = [], namespace = NAMESPACE): string {
  const kube = k8sTools().kubernetesVersion;
  return helm(["template", RELEASE, CHART, "--namespace", namespace, "--kube-version", kube, "-f", valuesFile(values), ...extra]);
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** The rendered files that make up deploy/istio/ (the chart's templates/istio/*). */
export const ISTIO_TEMPLATES = fs
  .readdirSync(path.join(CHART, "templates/istio"))
  .filter((f) => f.endsWith(".yaml"))
  .sort();

/** deploy/istio/<file>: the chart's mesh templates rendered for release clinic in namespace clinic. */
export function renderIstioFile(template: string): string {
  const body = render("defaults", ["--show-only", `templates/istio/${template}`]);
  return (
    `# Rendered from deploy/helm/clinic/templates/istio/${template} with ci/defaults.yaml for the\n` +
    `# release "${RELEASE}" in the namespace "${NAMESPACE}" (kubectl apply -n ${NAMESPACE} -f deploy/istio/).\n` +
    `# Do not edit: change the template and regenerate with\n` +
    `#   CLINIC_UPDATE_GOLDEN=1 npx jest test/k8s/render.test.ts\n` +
    // The header joins the first object: a document of comments alone is no object at all.
    body.replace(/^---\n/, "")
  );
}

export const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);
