import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Each subpath loads only the third-party packages of its own concern, so a service's imports
 * show what it links: `@clinic/platform/grpc` brings no Kafka, Redis or knex with it. Checked on
 * what requiring the real entry leaves in a fresh module registry, not on what the sources say.
 *
 * The packages that define a concern, by the concern's name; each subpath lists the concerns it
 * may load (zod, @opentelemetry/api and the like are everyone's and not checked).
 */
const CONCERN_PACKAGES: Record<string, readonly string[]> = {
  grpc: ["@grpc/grpc-js", "@grpc/proto-loader", "@grpc/reflection", "grpc-health-check"],
  db: ["knex", "pg"],
  kafka: ["kafkajs"],
  redis: ["ioredis"],
  auth: ["jose"],
  metrics: ["prom-client"],
  logging: ["pino"],
  telemetry: ["@opentelemetry/sdk-node"],
};

const MAY_LOAD: Record<string, readonly (keyof typeof CONCERN_PACKAGES)[]> = {
  config: [],
  logging: ["logging"],
  errors: ["grpc"],
  metrics: ["metrics"],
  grpc: ["grpc"],
  db: ["db", "metrics", "grpc"],
  kafka: ["kafka"],
  outbox: ["kafka", "metrics"],
  redis: ["redis"],
  cache: ["redis", "metrics"],
  auth: ["auth", "grpc"],
  telemetry: ["telemetry"],
  service: ["logging", "metrics", "grpc", "auth", "db", "kafka"],
  "single-flight": [],
};

const packageJson = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { exports: Record<string, unknown> };
const subpaths = Object.keys(packageJson.exports)
  .map((key) => key.slice("./".length));

/** The npm package a loaded file belongs to (the innermost node_modules), or undefined for our own code. */
function packageOf(file: string): string | undefined {
  const at = file.lastIndexOf("/node_modules/");
  if (at < 0) return undefined;
  const [scope, name] = file.slice(at + "/node_modules/".length).split("/");
  return scope?.startsWith("@") ? `${scope}/${name}` : scope;
}

function packagesLoadedBy(subpath: string): Set<string> {
  let files: string[] = [];
  jest.isolateModules(() => {
    // A require, not an import: it must run inside the isolated registry, now.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(`@clinic/platform/${subpath}`);
    files = Object.keys(require.cache);
  });
  return new Set(files.map(packageOf).filter((name): name is string => name !== undefined));
}

describe("@clinic/platform subpaths load only their own concerns", () => {
  it("every subpath of package.json has its expectation here", () => {
    expect(subpaths.sort()).toEqual(Object.keys(MAY_LOAD).sort());
  });

  it.each(subpaths)("%s", (subpath) => {
    const loaded = packagesLoadedBy(subpath);
    const allowed = new Set((MAY_LOAD[subpath] ?? []).flatMap((concern) => CONCERN_PACKAGES[concern] ?? []));
    const foreign = Object.values(CONCERN_PACKAGES)
      .flat()
      .filter((name) => loaded.has(name) && !allowed.has(name));
    expect(foreign).toEqual([]);
    // The check sees real loads: a subpath's own concern shows up.
    for (const concern of MAY_LOAD[subpath] ?? []) {
      if (concern === subpath) expect(CONCERN_PACKAGES[concern]!.some((name) => loaded.has(name))).toBe(true);
    }
  });

  it("has no root entry that would load every concern at once", () => {
    expect(Object.keys(packageJson.exports)).not.toContain(".");
    expect(() => require.resolve("@clinic/platform")).toThrow();
  });
});
