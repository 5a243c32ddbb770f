import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import {
  bookingEvent, createScratchDatabase, eventually, newEmail, newPhone, notifierEnv, type ScratchDatabase,
  TestKafka, TestSmsProvider, TestSmtpServer,
} from "@clinic/test-stack";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const mainJs = path.join(repoRoot, "services", "notifier", "dist", "src", "main.js");

interface Running {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The real service binary as a child process, so it can be killed like a pod is. */
function spawnNotifier(env: Record<string, string>): Running {
  const child = spawn(process.execPath, [mainJs], {
    cwd: repoRoot,
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}

interface NotificationRecord {
  booking_id: string;
  channel: "email" | "sms";
  status: string;
  attempts: number;
}

describe("crash safety: a notifier killed mid-send and restarted", () => {
  let db: ScratchDatabase;
  const smtp = new TestSmtpServer();
  const sms = new TestSmsProvider();
  const kafka = new TestKafka("notifier-crash");
  const running: Running[] = [];

  beforeAll(async () => {
    // The child runs the compiled service; make sure it is this checkout's code (a no-op when
    // `npm test` has just built it).
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-b", "services/notifier"], { cwd: repoRoot, stdio: "pipe" });
    db = await createScratchDatabase("notifier_crash");
    await Promise.all([smtp.start(), sms.start(), kafka.setUp()]);
    await kafka.readDlq();
  }, 120_000);

  afterAll(async () => {
    for (const r of running) r.child.kill("SIGKILL");
    await kafka.tearDown();
    await Promise.all([smtp.stop(), sms.stop()]);
    await db?.drop();
  }, 60_000);

  it("sends every (event, channel) exactly once or parks it as DELIVERY_UNKNOWN, never twice", async () => {
    const env = { ...notifierEnv({ database: db.name, kafka, smtp, sms }), LOG_LEVEL: "warn", PARTITIONS_CONSUMED_CONCURRENTLY: "3" };
    const events = Array.from({ length: 20 }, () => bookingEvent("confirmed", { contact: newEmail(), phone: newPhone() }));
    for (const event of events) await kafka.produce(event);

    // Slow providers keep sends in flight; the 6th SMS request kills the notifier while the
    // provider holds the message and the notifier waits for the answer: its outcome is unknown
    // to the notifier, exactly the case a crash creates.
    smtp.delayMs = 300;
    sms.delayMs = 300;
    const first = spawnNotifier(env);
    running.push(first);
    sms.onRequest = () => {
      if (sms.requests.length === 6) first.child.kill("SIGKILL");
    };
    const death = await first.exited;
    expect(death.signal).toBe("SIGKILL");
    sms.onRequest = undefined;
    const deliveredBeforeCrash = smtp.received.length + sms.requests.length;
    expect(deliveredBeforeCrash).toBeGreaterThanOrEqual(6);
    expect(deliveredBeforeCrash).toBeLessThan(40);

    smtp.delayMs = 20;
    sms.delayMs = 20;
    const second = spawnNotifier(env);
    running.push(second);
    const rows = await eventually(async () => {
      const all: NotificationRecord[] = await db.knex("notifications").select("booking_id", "channel", "status", "attempts");
      return all.length === 40 && all.every((r) => r.status === "sent" || r.status === "dead_lettered") ? all : undefined;
    }, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nnotifier output:\n${second.output.join("").slice(-4_000)}`);
    });

    // Stops gracefully on SIGTERM.
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);

    const deliveries = new Map<string, number>();
    const count = (key: string) => deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
    for (const event of events) {
      for (const mail of smtp.received) if (mail.raw.includes(event.bookingId)) count(`${event.bookingId}/email`);
      for (const text of sms.requests) if (text.text.includes(event.bookingId)) count(`${event.bookingId}/sms`);
    }
    // Never twice.
    expect([...deliveries.entries()].filter(([, n]) => n > 1)).toEqual([]);

    const letters: { booking_id: string; channel: string; reason: string; published_at: Date | null }[] = await db.knex("dead_letters").select();
    const unknown = new Set(letters.map((l) => `${l.booking_id}/${l.channel}`));
    for (const row of rows) {
      const key = `${row.booking_id}/${row.channel}`;
      if (row.status === "sent") {
        expect({ key, delivered: deliveries.get(key) ?? 0 }).toEqual({ key, delivered: 1 });
        expect(unknown.has(key)).toBe(false);
      } else {
        // Parked for a human: delivered or not, it is not sent a second time.
        expect(unknown.has(key)).toBe(true);
        expect(deliveries.get(key) ?? 0).toBeLessThanOrEqual(1);
      }
    }
    // At least the SMS the notifier died waiting for is parked, and it did reach the provider.
    const killedSms = sms.requests[5]!;
    const killedKey = `${events.find((e) => killedSms.text.includes(e.bookingId))!.bookingId}/sms`;
    expect(unknown.has(killedKey)).toBe(true);
    expect(letters.every((l) => l.reason === "DELIVERY_UNKNOWN" && l.published_at !== null)).toBe(true);
    expect(rows.filter((r) => r.status === "dead_lettered")).toHaveLength(letters.length);
    const onTopic = await eventually(
      async () => {
        const parked = kafka.dlq.filter((m) => kafka.dlqHeader(m, "dlq-reason") === "DELIVERY_UNKNOWN");
        return parked.length === letters.length ? parked : undefined;
      },
      10_000,
    );
    expect(onTopic).toHaveLength(letters.length);
  }, 120_000);
});
