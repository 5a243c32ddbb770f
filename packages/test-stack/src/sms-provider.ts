import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

// A real HTTP SMS provider (node:http) on a free loopback port, answering as a test plans it.

export interface SmsRequest {
  to: string;
  text: string;
  reference: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  at: number;
  status: number;
}

export class TestSmsProvider {
  readonly requests: SmsRequest[] = [];
  delayMs = 0;
  /** Called once the request body is in, before answering (the provider has the message). */
  onRequest: ((request: SmsRequest) => void) | undefined;
  private readonly plans = new Map<string, number[]>();
  private readonly failing = new Map<string, number>();
  private readonly server: http.Server;
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      // A client killed mid-request (the crash test) resets the connection; nothing to do.
      req.on("error", () => undefined);
      res.on("error", () => undefined);
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        let body: { to?: string; text?: string; reference?: string } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
        } catch {
          res.writeHead(400).end();
          return;
        }
        const to = body.to ?? "";
        const status = this.plans.get(to)?.shift() ?? this.failing.get(to) ?? 200;
        const request: SmsRequest = {
          to,
          text: body.text ?? "",
          reference: body.reference ?? "",
          idempotencyKey: req.headers["idempotency-key"] as string | undefined,
          authorization: req.headers.authorization,
          at: Date.now(),
          status,
        };
        this.requests.push(request);
        this.onRequest?.(request);
        setTimeout(() => {
          res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(status < 300 ? { id: randomBytes(8).toString("hex") } : { error: "failed" }));
        }, this.delayMs);
      });
    });
  }

  /** The next requests to `to` are answered with these statuses, then 200 again. */
  plan(to: string, ...statuses: number[]): void {
    this.plans.set(to, statuses);
  }

  /** Every request to `to` fails with `status` until `recover`. */
  failAlways(to: string, status: number): void {
    this.failing.set(to, status);
  }

  recover(to: string): void {
    this.failing.delete(to);
    this.plans.delete(to);
  }

  requestsTo(to: string): SmsRequest[] {
    return this.requests.filter((r) => r.to === to);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/messages`;
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
