import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import nodemailer from "nodemailer";
import type { Channel, OutgoingMessage } from "./notification-policy";
import { scrubContactDetails } from "./scrub";

/**
 * A send that did not go through. `permanent` failures (the provider refused this message for
 * good) are not retried; everything else (timeouts, refused connections, 5xx, SMTP 4xx) is.
 * The message never contains contact details.
 */
export class SendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(scrubContactDetails(message));
    this.name = "SendError";
  }
}

export interface Sender {
  readonly channel: Channel;
  /** `reference` is stable across retries of one notification, for providers that deduplicate. */
  send(message: OutgoingMessage, reference: string): Promise<void>;
  close(): Promise<void>;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendError(`${what} timed out after ${ms} ms`, false)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string | undefined;
  password?: string | undefined;
  from: string;
  timeoutMs: number;
}

/** E-mail over SMTP through a small connection pool (nodemailer). */
export class SmtpSender implements Sender {
  readonly channel = "email" as const;
  private readonly transport;

  constructor(private readonly settings: SmtpSettings) {
    this.transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 5,
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      ...(settings.user !== undefined ? { auth: { user: settings.user, pass: settings.password ?? "" } } : {}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
      // Message bodies are our own text; never let a value pull in files or URLs.
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(message: OutgoingMessage, reference: string): Promise<void> {
    try {
      await withTimeout(
        this.transport.sendMail({
          from: this.settings.from,
          to: message.recipient,
          subject: message.subject,
          text: message.text,
          // Stable across retries, so a receiving system can recognise a repeated message.
          messageId: `<${reference}@notifier.clinic>`,
        }),
        this.settings.timeoutMs,
        "SMTP send",
      );
    } catch (err) {
      if (err instanceof SendError) throw err;
      throw smtpFailure(err);
    }
  }

  close(): Promise<void> {
    this.transport.close();
    return Promise.resolve();
  }
}

/**
 * SMTP replies in 5xx are permanent by the protocol's own definition (RFC 5321 4.2.1: the same
 * command will fail again); 4xx replies and connection problems are transient.
 */
function smtpFailure(err: unknown): SendError {
  const e = err as { message?: string; responseCode?: number; code?: string };
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const message = `SMTP ${code !== undefined ? `reply ${code}` : (e.code ?? "error")}: ${e.message ?? String(err)}`;
  return new SendError(message, code !== undefined && code >= 500 && code < 600);
}

export interface SmsSettings {
  url: string;
  token?: string | undefined;
  timeoutMs: number;
}

/**
 * SMS through an HTTP provider: `POST {to, text, reference}` as JSON, with the reference also as
 * an `Idempotency-Key` header. 2xx is sent; 408 and 429 (come back later) and 5xx are
 * transient; any other 4xx means the provider will never take this message: permanent.
 */
export class HttpSmsSender implements Sender {
  readonly channel = "sms" as const;

  constructor(private readonly settings: SmsSettings) {}

  async send(message: OutgoingMessage, reference: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.settings.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "idempotency-key": reference,
          ...(this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {}),
        },
        body: JSON.stringify({ to: message.recipient, text: message.text, reference }),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      if (e.name === "TimeoutError") throw new SendError(`SMS provider timed out after ${this.settings.timeoutMs} ms`, false);
      throw new SendError(`SMS provider unreachable: ${e.cause?.code ?? e.message ?? String(err)}`, false);
    }
    // Drain the body so the keep-alive connection is reused; its content is not needed.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const status = response.status;
    const transient = status >= 500 || status === 408 || status === 429;
    throw new SendError(`SMS provider answered HTTP ${status}`, !transient);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const tracer = trace.getTracer("clinic-notifier");

/**
 * Sends through a channel inside a span of the current trace (the consumed event's), so a
 * booking's trace ends with the e-mail or SMS that went out, or with why it did not.
 */
export function sendTraced(sender: Sender, message: OutgoingMessage, reference: string): Promise<void> {
  return tracer.startActiveSpan(
    `notification send ${sender.channel}`,
    { kind: SpanKind.CLIENT, attributes: { "clinic.notification.channel": sender.channel, "clinic.notification.reference": reference } },
    async (span) => {
      try {
        await sender.send(message, reference);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        if (err instanceof SendError) span.setAttribute("clinic.notification.permanent", err.permanent);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
