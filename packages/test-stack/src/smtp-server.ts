import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

// A real SMTP server (smtp-server) on a free loopback port, standing in for the notifier's mail
// relay.

export interface ReceivedMail {
  to: string[];
  raw: string;
  at: number;
}

export class TestSmtpServer {
  /** Messages fully received (the server has the whole DATA). */
  readonly received: ReceivedMail[] = [];
  /** Every RCPT TO seen, accepted or not, with when. */
  readonly attempts: { to: string; at: number; code: number }[] = [];
  /** Held before answering DATA with 250, to keep sends in flight. */
  delayMs = 0;
  onReceived: ((mail: ReceivedMail) => void) | undefined;
  private readonly plans = new Map<string, number[]>();
  private readonly server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      // No TLS certificate here; production uses STARTTLS when the server offers it.
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const code = this.plans.get(address.address)?.shift() ?? 250;
        this.attempts.push({ to: address.address, at: Date.now(), code });
        if (code === 250) return callback();
        callback(Object.assign(new Error(code >= 500 ? "Mailbox unavailable" : "Mailbox busy, try again later"), { responseCode: code }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          const mail = { to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
          this.received.push(mail);
          this.onReceived?.(mail);
          setTimeout(() => callback(), this.delayMs);
        });
      },
    });
  }

  /** The next RCPT TO for `recipient` are answered with these codes (451 transient, 550 permanent). */
  plan(recipient: string, ...codes: number[]): void {
    this.plans.set(recipient, codes);
  }

  mailsTo(recipient: string): ReceivedMail[] {
    return this.received.filter((m) => m.to.includes(recipient));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    // smtp-server reports a client that vanished mid-session (a killed notifier) as a server
    // error; that is the scenario under test, not a failure of the server.
    this.server.on("error", () => undefined);
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
