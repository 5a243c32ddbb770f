import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import type { K8sObject, K8sTools } from "./chart";

/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver built from the Go module
 * proxy (scripts/k8s-tools), on free ports, with their data in a temporary directory. No
 * controllers and no nodes: objects are stored, validated, defaulted and admitted exactly as in
 * a cluster, but nothing runs them.
 */
export class ControlPlane {
  private readonly processes: { name: string; child: ChildProcess; log: string }[] = [];
  private readonly token = randomBytes(24).toString("hex");
  private resources = new Map<string, { plural: string; namespaced: boolean }>();
  server = "";
  kubeconfig = "";

  constructor(
    private readonly tools: K8sTools,
    private readonly dir: string,
  ) {}

  async start(): Promise<void> {
    const [etcdClient, etcdPeer, apiPort] = await freePorts(3);
    this.spawn("etcd", this.tools.etcd, [
      "--name", "default",
      "--data-dir", path.join(this.dir, "etcd"),
      "--listen-client-urls", `http://127.0.0.1:${etcdClient}`,
      "--advertise-client-urls", `http://127.0.0.1:${etcdClient}`,
      "--listen-peer-urls", `http://127.0.0.1:${etcdPeer}`,
      "--initial-advertise-peer-urls", `http://127.0.0.1:${etcdPeer}`,
      "--initial-cluster", `default=http://127.0.0.1:${etcdPeer}`,
      "--log-level", "warn",
      // Loopback test data: no fsync per write.
      "--unsafe-no-fsync",
    ]);
    await this.waitFor("etcd", async () => (await plainGet(`http://127.0.0.1:${etcdClient}/health`)).includes('"health":"true"'), 60_000);

    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    fs.writeFileSync(path.join(this.dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
    fs.writeFileSync(path.join(this.dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    fs.writeFileSync(path.join(this.dir, "tokens.csv"), `${this.token},clinic-test,clinic-test,"system:masters"\n`);
    this.spawn("kube-apiserver", this.tools.kubeApiserver, [
      "--etcd-servers", `http://127.0.0.1:${etcdClient}`,
      "--bind-address", "127.0.0.1",
      "--advertise-address", "127.0.0.1",
      "--secure-port", String(apiPort),
      // A self-signed serving certificate is generated here.
      "--cert-dir", path.join(this.dir, "certs"),
      "--token-auth-file", path.join(this.dir, "tokens.csv"),
      "--authorization-mode", "RBAC",
      "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
      "--service-account-key-file", path.join(this.dir, "sa.pub"),
      "--service-account-signing-key-file", path.join(this.dir, "sa.key"),
      "--service-cluster-ip-range", "10.96.0.0/16",
      // The `kubernetes` Service's endpoints would be the loopback address, which is invalid.
      "--endpoint-reconciler-type", "none",
      "--v", "1",
    ]);
    this.server = `https://127.0.0.1:${apiPort}`;
    await this.waitFor("kube-apiserver", async () => (await this.request("GET", "/readyz")).status === 200, 180_000);

    this.kubeconfig = path.join(this.dir, "kubeconfig");
    fs.writeFileSync(
      this.kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "test", cluster: { server: this.server, "insecure-skip-tls-verify": true } }],
        users: [{ name: "test", user: { token: this.token } }],
        contexts: [{ name: "test", context: { cluster: "test", user: "test" } }],
        "current-context": "test",
      }),
      { mode: 0o600 },
    );
  }

  async stop(): Promise<void> {
    for (const p of [...this.processes].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const exited = new Promise((resolve) => p.child.once("exit", resolve));
      p.child.kill("SIGTERM");
      const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }

  /** The last lines of each process's log, for a failure message. */
  logs(): string {
    return this.processes
      .map((p) => `--- ${p.name} (${p.log})\n${fs.existsSync(p.log) ? fs.readFileSync(p.log, "utf8").split("\n").slice(-30).join("\n") : ""}`)
      .join("\n");
  }

  /** One API call; `warnings` are the server's Warning headers (PodSecurity's, deprecations). */
  async request(method: string, urlPath: string, body?: string, contentType = "application/json"): Promise<{ status: number; body: any; warnings: string[] }> {
    const url = new URL(urlPath, this.server);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          rejectUnauthorized: false,
          headers: { authorization: `Bearer ${this.token}`, accept: "application/json", ...(body ? { "content-type": contentType } : {}) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // readyz and friends answer plain text
            }
            const warning = res.headers["warning"];
            const warnings = (Array.isArray(warning) ? warning : warning ? [warning] : []).map((w) => w.replace(/^\d+ \S+ "(.*)"$/s, "$1").replace(/\\"/g, '"'));
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
          });
        },
      );
      req.on("error", reject);
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
      if (body) req.write(body);
      req.end();
    });
  }

  /** Reads the API's discovery documents: which resource serves each apiVersion + kind. */
  async discover(): Promise<void> {
    const groupVersions: string[] = ["api/v1"];
    const apis = await this.request("GET", "/apis");
    for (const g of apis.body.groups) for (const v of g.versions) groupVersions.push(`apis/${v.groupVersion}`);
    this.resources = new Map();
    for (const gv of groupVersions) {
      const list = await this.request("GET", `/${gv}`);
      for (const r of list.body.resources ?? []) {
        if (r.name.includes("/")) continue;
        this.resources.set(`${list.body.groupVersion}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
      }
    }
  }

  pathOf(o: K8sObject, namespace: string): string {
    const r = this.resources.get(`${o.apiVersion}/${o.kind}`);
    if (!r) throw new Error(`the API server serves no ${o.apiVersion} ${o.kind}`);
    const prefix = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    return `${prefix}${r.namespaced ? `/namespaces/${o.metadata.namespace ?? namespace}` : ""}/${r.plural}/${o.metadata.name}`;
  }

  /** Server-side apply of one object; `dryRun` runs validation, defaulting and admission only. */
  async apply(o: K8sObject, namespace: string, options: { dryRun?: boolean; fieldManager?: string } = {}): Promise<{ status: number; body: any; warnings: string[] }> {
    const query = new URLSearchParams({ fieldManager: options.fieldManager ?? "clinic-test", force: "true" });
    if (options.dryRun) query.set("dryRun", "All");
    return this.request("PATCH", `${this.pathOf(o, namespace)}?${query}`, JSON.stringify(o), "application/apply-patch+yaml");
  }

  async get(o: Pick<K8sObject, "apiVersion" | "kind" | "metadata">, namespace: string): Promise<{ status: number; body: any }> {
    return this.request("GET", this.pathOf(o as K8sObject, namespace));
  }

  private spawn(name: string, bin: string, args: string[]): void {
    const log = path.join(this.dir, `${name}.log`);
    const fd = fs.openSync(log, "a");
    const child = spawn(bin, args, { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    this.processes.push({ name, child, log });
  }

  private async waitFor(name: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const proc = this.processes.find((p) => p.name === name)!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.child.exitCode !== null) throw new Error(`${name} exited with ${proc.child.exitCode}\n${this.logs()}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs} ms\n${this.logs()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function plainGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
}
