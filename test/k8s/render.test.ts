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

  test("<svc>.env: names must be environment variable names, and may not repeat a variable the chart sets", () => {
    expect(fails(["--set", "booking.env.db_pool_max=5"])).toMatch(/'db_pool_max' does not match pattern/);
    expect(fails(["--set", "edge.env._X=1"])).toMatch(/'_X' does not match pattern/);
    // A chart-set ConfigMap key would be a duplicate key (which lint lets through), and a
    // Secret-backed variable in the ConfigMap would lose to the container's env: both refused.
    expect(fails(["--set", "booking.env.HOLD_TTL_MS=5000"])).toMatch(/booking.env.HOLD_TTL_MS: the chart sets HOLD_TTL_MS itself/);
    expect(fails(["--set", "edge.env.REDIS_URL=redis://elsewhere:6379"])).toMatch(/edge.env.REDIS_URL: the chart sets REDIS_URL itself/);
    expect(fails(["--set", "notifier.env.SMTP_PASSWORD=x"])).toMatch(/notifier.env.SMTP_PASSWORD: the chart sets SMTP_PASSWORD itself/);
    // A variable the chart leaves alone is added once.
    const configMap = render("defaults", ["--set", "booking.env.DB_POOL_MAX=8", "--show-only", "templates/services.yaml"]);
    expect(configMap.match(/^\s+DB_POOL_MAX: "8"$/gm)).toHaveLength(1);
  });

  test("clusterDomain names the mesh's hosts and the JWKS istiod fetches; kafka.external.replicationFactor the topics' replication", () => {
    const mesh = render("defaults", ["--set", "clusterDomain=corp.internal", "--show-only", "templates/istio/security.yaml", "--show-only", "templates/istio/traffic.yaml"]);
    expect(mesh).toContain('jwksUri: "http://clinic-edge.clinic.svc.corp.internal:8080/.well-known/jwks.json"');
    expect(mesh).toMatch(/host: clinic-booking\.clinic\.svc\.corp\.internal$/m);
    expect(mesh).not.toMatch(/svc\.cluster\.local/);
    // Principals follow the mesh's trust domain (istio.trustDomain), not the DNS domain.
    expect(mesh).toContain('"cluster.local/ns/clinic/sa/clinic-edge"');
    expect(fails(["--set", "clusterDomain=Not A Domain"])).toMatch(/\/clusterDomain/);
    const topics = render("external-databases", ["--set", "kafka.external.replicationFactor=2", "--show-only", "templates/kafka.yaml"]);
    expect(topics.match(/--replication-factor (\d+)/g)!.every((m) => m.endsWith(" 2"))).toBe(true);
  });

  test("missing secrets are named", () => {
    expect(fails(["--set", "secrets.redisPassword="])).toMatch(/a value for redis-password is required \(or set secrets.existingSecret\)/);
    expect(fails(["--set", "secrets.backupCipherPass="])).toMatch(/a value for backup-cipher-pass is required/);
    const s3 = ["--set", "backup.repo.type=s3", "--set", "backup.repo.s3.bucket=b", "--set", "backup.repo.s3.endpoint=e", "--set", "backup.repo.s3.region=r"];
    expect(fails(s3)).toMatch(/a value for backup-s3-key(-secret)? is required/);
    expect(fails(["--set", "backup.repo.type=s3", "--set", "secrets.backupS3Key=k", "--set", "secrets.backupS3KeySecret=s"])).toMatch(/backup.repo.s3.bucket is required/);
  });

  test("backup settings of the wrong shape fail", () => {
    expect(fails(["--set", "backup.repo.type=nfs"])).toMatch(/\/backup\/repo\/type/);
    expect(fails(["--set", "backup.schedule.fullAt=25:00"])).toMatch(/\/backup\/schedule\/fullAt/);
    expect(fails(["--set", "backup.restore.shards={9}"])).toMatch(/backup.restore.shards: there is no shard 9/);
  });

  test("PgBouncer pools that cannot hold booking's connections are refused, saying why", () => {
    // 12 booking pods (the HPA's maximum) x DB_POOL_MAX 10 = 120 clients of one shard's PgBouncer.
    expect(fails(["--set", "pgbouncer.maxClientConn=100"])).toMatch(/pgbouncer.maxClientConn \(100\) is below .*12 pods x DB_POOL_MAX 10 = 120/);
    expect(fails(["--set", "booking.env.DB_POOL_MAX=100"])).toMatch(/12 pods x DB_POOL_MAX 100 = 1200/);
    // 2 PgBouncer pods x 20 + 12 booking pods x 2 + 10 = 74 server connections.
    expect(fails(["--set-string", "patroni.parameters.max_connections=60"])).toMatch(/max_connections \(60\) is below .* = 74/);
    // Without PgBouncer the pool sizes are booking's own business.
    expect(() => render("defaults", ["--set", "pgbouncer.enabled=false", "--set", "pgbouncer.maxClientConn=100"])).not.toThrow();
  });
});
