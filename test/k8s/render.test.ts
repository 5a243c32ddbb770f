import * as fs from "node:fs";
import * as path from "node:path";
import {
  CI_VALUES,
  CHART,
  GOLDEN_DIR,
  ISTIO_DIR,
  ISTIO_TEMPLATES,
  ROOT,
  TOOLS_TIMEOUT_MS,
  UPDATE_GOLDEN,
  helm,
  k8sTools,
  render,
  renderIstioFile,
  valuesFile,
} from "./chart";

/**
 * The chart lints cleanly and renders exactly the golden files for every CI values file; an
 * intended change regenerates them (CLINIC_UPDATE_GOLDEN=1 npx jest test/k8s/render.test.ts)
 * and shows up in review as a diff of the rendered manifests.
 */
beforeAll(() => {
  k8sTools();
}, TOOLS_TIMEOUT_MS);

describe.each(CI_VALUES)("values ci/%s.yaml", (name) => {
  test("helm lint --strict passes", () => {
    const out = helm(["lint", "--strict", CHART, "-f", valuesFile(name)]);
    expect(out).toContain("0 chart(s) failed");
  });

  test("helm template matches its golden file", () => {
    const rendered = render(name);
    const golden = path.join(GOLDEN_DIR, `${name}.yaml`);
    if (UPDATE_GOLDEN) {
      fs.mkdirSync(GOLDEN_DIR, { recursive: true });
      fs.writeFileSync(golden, rendered);
    }
    expectSame(rendered, golden);
  });
});

/** Fails with the first differing lines and how to regenerate, instead of a 9,000-line diff. */
function expectSame(rendered: string, file: string): void {
  const expected = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  if (rendered === expected) return;
  const a = rendered.split("\n");
  const b = expected.split("\n");
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  throw new Error(
    `${path.relative(ROOT, file)} differs from the rendering at line ${i + 1}:\n` +
      `  rendered: ${a.slice(i, i + 3).join("\n            ")}\n` +
      `  file:     ${b.slice(i, i + 3).join("\n            ")}\n` +
      "If the change is intended, regenerate with `CLINIC_UPDATE_GOLDEN=1 npx jest test/k8s/render.test.ts` and review the diff.",
  );
}

test("every golden file belongs to a CI values file", () => {
  const goldens = fs.readdirSync(GOLDEN_DIR).map((f) => f.replace(/\.yaml$/, "")).sort();
  expect(goldens).toEqual(CI_VALUES);
});

test("deploy/istio/ is the chart's mesh templates rendered", () => {
  if (UPDATE_GOLDEN) {
    fs.mkdirSync(ISTIO_DIR, { recursive: true });
    for (const file of fs.readdirSync(ISTIO_DIR)) fs.rmSync(path.join(ISTIO_DIR, file));
    for (const template of ISTIO_TEMPLATES) fs.writeFileSync(path.join(ISTIO_DIR, template), renderIstioFile(template));
  }
  expect(fs.readdirSync(ISTIO_DIR).sort()).toEqual(ISTIO_TEMPLATES);
  for (const template of ISTIO_TEMPLATES) expectSame(renderIstioFile(template), path.join(ISTIO_DIR, template));
});

describe("values.schema.json", () => {
  const fails = (extra: string[]): string => {
    try {
      render("defaults", extra);
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
    throw new Error(`helm template ${extra.join(" ")} succeeded`);
  };

  test("a misspelt key fails the install, naming it", () => {
    expect(fails(["--set", "booking.replicaz=3"])).toMatch(/at '\/booking': additional properties 'replicaz' not allowed/);
    expect(fails(["--set", "istio.retries.attemps=1"])).toMatch(/additional properties 'attemps' not allowed/);
    expect(fails(["--set", "kafka.external.enabeld=true"])).toMatch(/additional properties 'enabeld' not allowed/);
  });

  test("a value of the wrong shape fails", () => {
    expect(fails(["--set", "kafka.replicas=2"])).toMatch(/\/kafka\/replicas/);
    expect(fails(["--set", "booking.canary.weight=150"])).toMatch(/\/booking\/canary\/weight/);
    expect(fails(["--set-json", 'bookingDatabase.external.shards=["not a shard"]'])).toMatch(/\/bookingDatabase\/external\/shards\/0/);
  });

  test("missing secrets are named", () => {
    expect(fails(["--set", "secrets.redisPassword="])).toMatch(/a value for redis-password is required \(or set secrets.existingSecret\)/);
  });
});
