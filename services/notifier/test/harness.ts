import { randomBytes, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  createGrpcClient,
  createKafka,
  fromServiceError,
  healthServiceDefinition,
  isServiceError,
  unary,
  type Consumer,
  type KafkaMessage,
  type Producer,
  type RemoteError,
} from "@clinic/platform";
import { eventsV1, notifierV1 } from "@clinic/proto";
import { eventually, stackEnv, testLogger } from "@clinic/test-support";
import { SMTPServer } from "smtp-server";

const hex = (bytes = 4): string => randomBytes(bytes).toString("hex");

/** A fresh E.164 number in the fictional 555 range, and a fresh e-mail address. */
export const newPhone = (): string => `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
export const newEmail = (): string => `patient-${hex()}@example.com`;

// ---------------------------------------------------------------------------------------------
// SMTP: a real SMTP server (smtp-server) on a free loopback port.

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

// ---------------------------------------------------------------------------------------------
// SMS: a real HTTP provider (node:http) on a free loopback port.

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
          res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(status < 300 ? { id: hex(8) } : { error: "failed" }));
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

// ---------------------------------------------------------------------------------------------
// Kafka: per-file topics and consumer groups, so parallel test files never share either.

export class TestKafka {
  readonly kafka = createKafka({ clientId: "notifier-test", brokers: stackEnv("KAFKA_BROKERS").split(","), logger: testLogger("kafka") });
  readonly eventsTopic: string;
  readonly dlqTopic: string;
  readonly group: string;
  private readonly admin = this.kafka.admin();
  private producer: Producer | undefined;
  private dlqConsumer: Consumer | undefined;
  /** Everything that arrived on the dead-letter topic. */
  readonly dlq: KafkaMessage[] = [];

  constructor(name: string) {
    const suffix = hex();
    this.eventsTopic = `test.${name}.booking-events.${suffix}`;
    this.dlqTopic = `test.${name}.dlq.${suffix}`;
    this.group = `test-${name}-notifier-${suffix}`;
  }

  async setUp(): Promise<void> {
    await this.admin.connect();
    await this.admin.createTopics({
      topics: [
        { topic: this.eventsTopic, numPartitions: 3, replicationFactor: 1 },
        { topic: this.dlqTopic, numPartitions: 1, replicationFactor: 1 },
      ],
      waitForLeaders: true,
    });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  /** Collects the dead-letter topic from its start. */
  async readDlq(): Promise<void> {
    this.dlqConsumer = this.kafka.consumer({ groupId: `${this.group}-dlq-reader` });
    await this.dlqConsumer.connect();
    await this.dlqConsumer.subscribe({ topic: this.dlqTopic, fromBeginning: true });
    await this.dlqConsumer.run({
      eachMessage: async ({ message }) => {
        this.dlq.push(message);
      },
    });
  }

  /** Produces a BookingEvent as the booking service's outbox relay does: key = slot id. */
  async produce(event: eventsV1.BookingEvent): Promise<Buffer> {
    const value = Buffer.from(eventsV1.BookingEvent.encode(event).finish());
    await this.produceRaw(event.slotId, value, event.payload ? `booking.${event.payload.$case}` : undefined);
    return value;
  }

  async produceRaw(key: string, value: Buffer, eventType?: string): Promise<void> {
    await this.producer!.send({
      topic: this.eventsTopic,
      acks: -1,
      messages: [{ key, value, headers: eventType ? { "event-type": eventType } : {} }],
    });
  }

  dlqHeader(message: KafkaMessage, name: string): string | undefined {
    const value = message.headers?.[name];
    return value === undefined ? undefined : (Array.isArray(value) ? value[0] : value)?.toString();
  }

  async waitForDlq(predicate: (m: KafkaMessage) => boolean, timeoutMs = 20_000): Promise<KafkaMessage> {
    return eventually(async () => this.dlq.find(predicate), timeoutMs);
  }

  async tearDown(): Promise<void> {
    await this.dlqConsumer?.disconnect();
    await this.producer?.disconnect();
    await this.admin.deleteTopics({ topics: [this.eventsTopic, this.dlqTopic] }).catch(() => undefined);
    await this.admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Events and settings.

export interface EventOptions {
  bookingId?: string;
  slotId?: string;
  eventId?: string;
  contact?: string;
  phone?: string;
  name?: string;
  slotStartTime?: Date;
}

/** A BookingEvent of the given kind, with fresh ids unless given. */
export function bookingEvent(kind: "created" | "confirmed" | "cancelled" | "expired", options: EventOptions = {}): eventsV1.BookingEvent {
  const details = {
    patientName: options.name ?? "Jane Doe",
    patientContact: options.contact ?? "",
    patientPhone: options.phone ?? "",
    slotStartTime: options.slotStartTime ?? new Date("2026-03-02T09:30:00Z"),
  };
  const payload: eventsV1.BookingEvent["payload"] =
    kind === "created"
      ? { $case: "created", value: { ...details, expireTime: new Date(Date.now() + 120_000), rescheduledFrom: "", waitlistOffer: false } }
      : kind === "confirmed"
        ? { $case: "confirmed", value: details }
        : kind === "cancelled"
          ? { $case: "cancelled", value: { ...details, rescheduledTo: "" } }
          : { $case: "expired", value: details };
  return {
    eventId: options.eventId ?? randomUUID(),
    occurTime: new Date(),
    bookingId: options.bookingId ?? randomUUID(),
    slotId: options.slotId ?? randomUUID(),
    doctorId: randomUUID(),
    patientId: randomUUID(),
    payload,
  };
}

/** The environment a notifier needs against the test stack, these topics and these providers. */
export function notifierEnv(options: { database: string; kafka: TestKafka; smtp: TestSmtpServer; sms: TestSmsProvider }): Record<string, string> {
  return {
    PGHOST: stackEnv("PGHOST"),
    PGPORT: stackEnv("PGPORT"),
    PGUSER: stackEnv("PGUSER"),
    PGPASSWORD: stackEnv("PGPASSWORD"),
    PGDATABASE: options.database,
    KAFKA_BROKERS: stackEnv("KAFKA_BROKERS"),
    BOOKING_EVENTS_TOPIC: options.kafka.eventsTopic,
    DLQ_TOPIC: options.kafka.dlqTopic,
    CONSUMER_GROUP: options.kafka.group,
    // The broker's minimum; a member killed without leaving is noticed this quickly.
    CONSUMER_SESSION_TIMEOUT_MS: "6000",
    LAG_POLL_INTERVAL_MS: "500",
    GRPC_PORT: "0",
    METRICS_PORT: "0",
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(options.smtp.port),
    SMTP_FROM: "Clinic <notify@clinic.example>",
    SMTP_SEND_TIMEOUT_MS: "2000",
    SMS_PROVIDER_URL: options.sms.url,
    SMS_PROVIDER_TOKEN: "test-token",
    SMS_SEND_TIMEOUT_MS: "2000",
    RETRY_MAX_ATTEMPTS: "3",
    RETRY_BASE_DELAY_MS: "200",
    RETRY_MAX_DELAY_MS: "2000",
    CLAIM_LEASE_MS: "3500",
  };
}

// ---------------------------------------------------------------------------------------------
// gRPC: the admin API and health.

export class NotifierApi {
  private readonly client: notifierV1.NotifierServiceClient;
  private readonly health: grpc.Client & Record<string, any>;

  /** `as` signs the calls (e.g. a test issuer's admin interceptor); without it they are anonymous. */
  constructor(address: string, as?: grpc.Interceptor) {
    this.client = createGrpcClient(notifierV1.NotifierServiceClient, {
      address,
      serviceName: "clinic.notifier.v1.NotifierService",
      deadlineMs: 10_000,
      ...(as ? { interceptors: [as] } : {}),
    });
    const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");
    this.health = new HealthClient(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  }

  listNotifications = (bookingId: string) => unary(this.client.listNotifications.bind(this.client), { bookingId });
  listDeadLetters = (pageSize = 0, pageToken = "") => unary(this.client.listDeadLetters.bind(this.client), { pageSize, pageToken });
  replay = (id: string) => unary(this.client.replayDeadLetter.bind(this.client), { id });

  healthStatus(service = ""): Promise<string> {
    return new Promise((resolve, reject) =>
      this.health["Check"]({ service }, (err: grpc.ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );
  }

  close(): void {
    this.client.close();
    this.health.close();
  }
}

/** The decoded gRPC error a call failed with (fails the test when it succeeded). */
export async function remoteError(call: Promise<unknown>): Promise<RemoteError> {
  try {
    await call;
  } catch (err) {
    if (isServiceError(err)) return fromServiceError(err);
    throw err;
  }
  throw new Error("the call succeeded");
}

export async function scrapeMetrics(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The value of the sample of `name` carrying (at least) these labels, from the text format. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}
