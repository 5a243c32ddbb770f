import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./chart";
import { parseDockerfile, readIgnore, runStage, type StageResult } from "./dockerfile";

/**
 * Images cannot be built here (no container engine), so the Dockerfile's steps are run in a
 * scratch directory instead:
 * - the `build` stage must run exactly the commands scripts/ensure-build runs (which `npm test`
 *   has just run in this checkout, so its output stands in for that stage's file system), and
 *   copy every workspace's package.json (npm ci needs them all);
 * - the `production-deps` and `runtime` stages run for real, per service: `npm ci --omit=dev`
 *   for the one workspace, then only the files the image gets;
 * - the image's command, `node dist/src/main.js`, then starts from the runtime directory with no
 *   settings: it must load every module (production dependencies only) and stop with the
 *   configuration error (exit 78), never with a missing module; so must the chart's migrate init
 *   container's `node dist/src/migrate.js`.
 * The production-deps directory is cached per lockfile and service in ~/.cache/clinic (like an
 * image layer), so only a lockfile change pays for the installs again.
 */
const DOCKERFILE = parseDockerfile(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8"));
const SERVICES = ["edge", "doctor", "slot", "booking", "notifier"];
const CACHE = path.join(process.env["CLINIC_CACHE_DIR"] ?? path.join(os.homedir(), ".cache/clinic"), "dockerfile-test");
const runs = (stage: string) => DOCKERFILE.stages.find((s) => s.name === stage)!.instructions.filter((i) => i.op === "RUN").map((i) => i.args);

let scratch: string;
/** Stands in for the build stage's root: its /src is this checkout, built by `npm run build`. */
let buildRoot: string;

beforeAll(() => {
  fs.mkdirSync(CACHE, { recursive: true });
  scratch = fs.mkdtempSync(path.join(CACHE, "run-"));
  buildRoot = path.join(scratch, "build-root");
  fs.mkdirSync(buildRoot);
  fs.symlinkSync(ROOT, path.join(buildRoot, "src"));
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test("three stages from a Node 24 image: build, production-deps, runtime", () => {
  expect(DOCKERFILE.stages.map((s) => s.name)).toEqual(["build", "production-deps", "runtime"]);
  expect(DOCKERFILE.globalArgs["NODE_IMAGE"]).toMatch(/^docker\.io\/library\/node:24(\.|-)/);
  for (const s of DOCKERFILE.stages) expect(s.from).toBe("${NODE_IMAGE}");
});

test("the build stage runs the commands scripts/ensure-build runs, in the same order", () => {
  const ensureBuild = fs
    .readFileSync(path.join(ROOT, "scripts/ensure-build"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("npm "));
  expect(ensureBuild.length).toBeGreaterThanOrEqual(2);
  expect(runs("build")).toEqual(ensureBuild);
});

test("the build and production-deps stages see every workspace's package.json", () => {
  const workspaces = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { workspaces: string[] }).workspaces;
  for (const stage of ["build", "production-deps"]) {
    const copied = DOCKERFILE.stages
      .find((s) => s.name === stage)!
      .instructions.filter((i) => i.op === "COPY")
      .flatMap((i) => i.args.split(/\s+/))
      .map((w) => w.replace(/^\/src\//, ""))
      .filter((w) => w.endsWith("/package.json"))
      .map((w) => w.replace(/\/package\.json$/, ""));
    expect([stage, [...copied].sort()]).toEqual([stage, [...workspaces].sort()]);
  }
});

/** The production-deps stage's result for a service, cached like an image layer. */
function productionDeps(service: string): string {
  const stage = DOCKERFILE.stages.find((s) => s.name === "production-deps")!;
  const hash = createHash("sha256").update(JSON.stringify(stage.instructions)).update(service).update(process.version);
  for (const file of ["package.json", "package-lock.json", ...fs.readdirSync(path.join(ROOT, "services")).map((s) => `services/${s}/package.json`)]) {
    if (fs.existsSync(path.join(ROOT, file))) hash.update(fs.readFileSync(path.join(ROOT, file)));
  }
  const dir = path.join(CACHE, `production-deps-${service}-${hash.digest("hex").slice(0, 16)}`);
  if (fs.existsSync(path.join(dir, ".complete"))) return dir;
  const result = runStage(DOCKERFILE, "production-deps", {
    context: ROOT,
    ignore: [],
    buildArgs: { SERVICE: service },
    stageRoots: { build: buildRoot },
    workDir: scratch,
  });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.renameSync(result.root, tmp);
  fs.writeFileSync(path.join(tmp, ".complete"), "");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

describe.each(SERVICES)("the %s image", (service) => {
  let runtime: StageResult;

  beforeAll(() => {
    runtime = runStage(DOCKERFILE, "runtime", {
      context: ROOT,
      ignore: readIgnore(path.join(ROOT, ".dockerignore")),
      buildArgs: { SERVICE: service },
      stageRoots: { build: buildRoot, "production-deps": productionDeps(service) },
      workDir: path.join(scratch, service),
    });
  }, 10 * 60 * 1000);

  test("holds production dependencies only, and only this service", () => {
    const app = path.join(runtime.root, "app");
    expect(fs.readdirSync(path.join(app, "services"))).toEqual([service]);
    expect(fs.readdirSync(path.join(app, "packages")).sort()).toEqual(["platform", "proto"]);
    for (const dev of ["typescript", "jest", "ts-proto", "@bufbuild/buf", "eslint", "ts-jest"]) {
      expect([dev, fs.existsSync(path.join(app, "node_modules", dev))]).toEqual([dev, false]);
    }
    expect(fs.existsSync(path.join(app, "packages/proto/descriptor.binpb"))).toBe(true);
    expect(runtime.user).toBe("10001:10001");
    expect(runtime.env["NODE_ENV"]).toBe("production");
  });

  /** Runs a command in the image's working directory with no settings at all and nothing from this checkout on the module path: it must load every module and stop at the missing settings. */
  function expectLoadsAndStopsAtMissingSettings(command: readonly string[]): void {
    const [bin, ...args] = command;
    const started = spawnSync(bin!, args, {
      cwd: path.join(runtime.root, runtime.workdir),
      env: { PATH: process.env["PATH"] ?? "", NODE_ENV: "production" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(started.stderr).not.toMatch(/Cannot find module|MODULE_NOT_FOUND/);
    expect([started.status, started.stderr]).toEqual([78, expect.stringContaining(`${service}: invalid configuration`)]);
  }

  test("`node dist/src/main.js` loads every module and stops at the missing settings", () => {
    expect(runtime.cmd).toEqual(["node", "dist/src/main.js"]);
    expectLoadsAndStopsAtMissingSettings(runtime.cmd!);
  }, 60_000);

  test("the chart's migrate init container, `node dist/src/migrate.js`, is in the image and loads every module", () => {
    const chart = fs.readFileSync(path.join(ROOT, "deploy/helm/clinic/templates/services.yaml"), "utf8");
    const command = /- name: migrate\n(?:\s+.*\n)*?\s+command: \[([^\]]+)\]/.exec(chart)?.[1]?.split(",").map((w) => w.trim());
    expect(command).toEqual(["node", "dist/src/migrate.js"]);
    expectLoadsAndStopsAtMissingSettings(command!);
  }, 60_000);
});
