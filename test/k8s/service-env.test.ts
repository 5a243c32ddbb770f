import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig } from "@clinic/platform/config";
import { configSchema as bookingSchema } from "@clinic/booking-service";
import { configSchema as doctorSchema } from "@clinic/doctor-service";
import { configSchema as edgeSchema } from "@clinic/edge-service";
import { configSchema as notifierSchema } from "@clinic/notifier-service";
import { configSchema as slotSchema } from "@clinic/slot-service";
import { CI_VALUES, RELEASE, ROOT, TOOLS_TIMEOUT_MS, k8sTools, parseObjects, render, type K8sObject } from "./chart";

/**
 * The environment the chart gives each service is one the service accepts: its ConfigMap and
 * Secret variables, as the kubelet would set them, parse with the service's own config schema
 * (the one its main.ts validates at start), and no variable is one the service does not read
 * (a misspelt chart-set or `<svc>.env` variable would otherwise be ignored silently).
 */

const SCHEMAS = { edge: edgeSchema, doctor: doctorSchema, slot: slotSchema, booking: bookingSchema, notifier: notifierSchema } as const;

/**
 * Variables read outside the config schemas: the ones the platform reads from process.env itself
 * (telemetry: TRACES_SAMPLE_RATIO...), found in its source, and the OpenTelemetry SDK's own
 * OTEL_* variables (the specification's names).
 */
function readOutsideSchema(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
        for (const m of fs.readFileSync(file, "utf8").matchAll(/process\.env(?:\[["'](\w+)["']\]|\.(\w+))/g)) names.add((m[1] ?? m[2])!);
      }
    }
  };
  walk(path.join(ROOT, "packages/platform/src"));
  return names;
}
const OUTSIDE_SCHEMA = readOutsideSchema();
const isSdkVariable = (name: string) => /^OTEL_[A-Z0-9_]+$/.test(name);

/** The values of a rendered Secret (stringData or base64 data). */
function secretValues(secret: K8sObject | undefined): Record<string, string> {
  if (!secret) return {};
  const data = Object.fromEntries(Object.entries((secret.data as Record<string, string>) ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
  return { ...data, ...((secret["stringData"] as Record<string, string>) ?? {}) };
}

/**
 * A container's environment as the kubelet builds it: envFrom ConfigMaps first, then `env` in
 * order with $(VAR) expanded from what is set before. A Secret not rendered (an existing one)
 * gives a placeholder per required key; a missing optional key leaves the variable unset.
 */
function containerEnv(objects: K8sObject[], container: any): { env: Record<string, string>; referenced: Set<string> } {
  const env: Record<string, string> = {};
  const referenced = new Set<string>();
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const from of container.envFrom ?? []) {
    const cm = find("ConfigMap", from.configMapRef.name);
    if (!cm) throw new Error(`ConfigMap ${from.configMapRef.name} is not rendered`);
    Object.assign(env, cm.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (whole, ref: string) => {
        referenced.add(ref);
        return env[ref] ?? whole;
      });
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = find("Secret", ref.name);
      // An existing Secret's optional keys may be absent; its required ones hold something.
      const value = secret ? secretValues(secret)[ref.key] : ref.optional ? undefined : `placeholder-${ref.key}`;
      if (value !== undefined) env[e.name] = value;
      else if (!ref.optional) throw new Error(`${e.name}: key ${ref.key} not in Secret ${ref.name}`);
    }
  }
  return { env, referenced };
}

describe.each(CI_VALUES)("ci/%s.yaml", (values) => {
  let objects: K8sObject[];
  beforeAll(() => {
    k8sTools();
    objects = parseObjects(render(values));
  }, TOOLS_TIMEOUT_MS);

  test.each(Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[])("%s: its environment parses with its config schema, every variable one it reads", (service) => {
    const deployments = objects.filter((o) => o.kind === "Deployment" && o.metadata.labels?.["app.kubernetes.io/name"] === service);
    expect(deployments.length).toBeGreaterThan(0);
    const schema = SCHEMAS[service];
    const known = new Set(Object.keys(schema.shape));
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers.find((c: any) => c.name === service);
      const { env, referenced } = containerEnv(objects, container);
      // Set only to be expanded into another variable (REDIS_PASSWORD into REDIS_URL).
      const unknown = Object.keys(env).filter((k) => !known.has(k) && !OUTSIDE_SCHEMA.has(k) && !isSdkVariable(k) && !referenced.has(k));
      expect([deployment.metadata.name, unknown]).toEqual([deployment.metadata.name, []]);
      expect(() => parseConfig(schema, env)).not.toThrow();
    }
  });
});

describe("a variable the service does not know fails the check", () => {
  let objects: K8sObject[];
  beforeAll(() => {
    k8sTools();
    objects = parseObjects(render("defaults", ["--set", "booking.env.HOLD_TTL_SECONDS=60", "--set", "edge.env.CORS_ALLOWED_ORIGINS=https://clinic.example"]));
  }, TOOLS_TIMEOUT_MS);

  test("a misspelt booking.env key is named; a real edge.env key passes", () => {
    const envOf = (name: string) => containerEnv(objects, objects.find((o) => o.kind === "Deployment" && o.metadata.name === `${RELEASE}-${name}`)!.spec.template.spec.containers[0]).env;
    expect(Object.keys(envOf("booking")).filter((k) => !(k in bookingSchema.shape))).toContain("HOLD_TTL_SECONDS");
    const edge = envOf("edge");
    expect("CORS_ALLOWED_ORIGINS" in edgeSchema.shape).toBe(true);
    expect(parseConfig(edgeSchema, edge).CORS_ALLOWED_ORIGINS).toEqual(["https://clinic.example"]);
  });

  test("a value of the wrong shape is refused by the schema, naming the variable", () => {
    const bad = parseObjects(render("defaults", ["--set-string", "booking.env.DB_POOL_MAX=ten"]));
    const booking = bad.find((o) => o.kind === "Deployment" && o.metadata.name === `${RELEASE}-booking`)!;
    expect(() => parseConfig(bookingSchema, containerEnv(bad, booking.spec.template.spec.containers[0]).env)).toThrow(/DB_POOL_MAX/);
  });
});
