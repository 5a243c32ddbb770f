import { randomUUID } from "node:crypto";
import type { EdgeTarget } from "../modes/edge";
import type { Patient } from "../modes/target";

/** A slot of the chaos run, with the shard its doctor's bookings live on. */
export interface ChaosSlot {
  id: string;
  shard: number;
}

/** A booking the platform acknowledged (201/200), which must exist afterwards. */
export interface Acknowledged {
  id: string;
  slotId: string;
  patientId: string;
  shard: number;
  at: number;
}

/** One booking attempt as a client saw it, retries included. */
interface Attempt {
  shard: number;
  /** Answers before the final one that said "try again" (503, or no answer at all). */
  retried: number;
  outcome: "acknowledged" | "refused" | "failed";
}

/**
 * What the clients saw during one scenario: the answers they got, and per shard the moments
 * writes failed and succeeded, from which the write outage (RTO) is measured.
 */
export class LoadRecord {
  readonly acknowledged: Acknowledged[] = [];
  readonly attempts: Attempt[] = [];
  /** Per shard, the times (ms, performance.now) of write answers: ok = acknowledged or refused. */
  readonly answers = new Map<number, { at: number; ok: boolean }[]>();
  /** Answers that are neither a booking nor a clear refusal nor "try again": always a violation. */
  readonly unexpected: string[] = [];
  latenciesMs: number[] = [];

  note(shard: number, ok: boolean): void {
    const list = this.answers.get(shard) ?? [];
    list.push({ at: performance.now(), ok });
    this.answers.set(shard, list);
  }

  /**
   * Write unavailability of a shard: from its first failed answer to the first success after
   * the last failure (ms); 0 when no write failed.
   */
  outageMs(shard: number): number {
    const list = this.answers.get(shard) ?? [];
    const firstFail = list.find((a) => !a.ok);
    if (!firstFail) return 0;
    let lastFail = firstFail.at;
    for (const a of list) if (!a.ok) lastFail = Math.max(lastFail, a.at);
    const recovered = list.find((a) => a.ok && a.at > lastFail);
    return (recovered?.at ?? performance.now()) - firstFail.at;
  }

  /**
   * The longest time the shard answered no write successfully, from `since` (a fault) to the
   * last successful answer or now (ms). A write that hangs, waiting for a synchronous standby
   * that is gone, is unavailable as surely as one answered 503, yet `outageMs` cannot see it.
   */
  longestPauseMs(shard: number, since: number): number {
    let previous = since;
    let longest = 0;
    for (const a of this.answers.get(shard) ?? []) {
      if (!a.ok || a.at < since) continue;
      longest = Math.max(longest, a.at - previous);
      previous = a.at;
    }
    return Math.max(longest, performance.now() - previous);
  }

  /** Failed answers of the shard (503 or none) at or after `since`. */
  failedSince(shard: number, since: number): number {
    return (this.answers.get(shard) ?? []).filter((a) => !a.ok && a.at >= since).length;
  }

  /** Answers that asked for a retry (503 or none), per shard. */
  failedBeforeRetries(shard?: number): number {
    let n = 0;
    for (const [s, list] of this.answers) if (shard === undefined || s === shard) n += list.filter((a) => !a.ok).length;
    return n;
  }

  failedAfterRetries(): number {
    return this.attempts.filter((a) => a.outcome === "failed").length;
  }
}

export interface LoadPlan {
  edge: EdgeTarget;
  patients: readonly Patient[];
  slots: readonly ChaosSlot[];
  clients: number;
  /** A client gives up on one booking after retrying this long. */
  retryBudgetMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Retryable: the platform said "not now" (503), or the request got no answer at all. */
const RETRY = "retry";

/**
 * Closed-loop booking load through the edge, as careful clients send it: every booking has an
 * Idempotency-Key, kept across its retries, and a 503 (or a lost connection) is retried with
 * the same key after a short pause, so the platform can never book one intent twice.
 */
export class BookingLoad {
  readonly record = new LoadRecord();
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly plan: LoadPlan) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.plan.clients }, (_, i) => this.client(i));
  }

  /** Stops starting new bookings and waits for the ones in flight (with their retries). */
  async stop(): Promise<LoadRecord> {
    this.running = false;
    await Promise.all(this.loops);
    return this.record;
  }

  private async client(index: number): Promise<void> {
    let n = index;
    while (this.running) {
      const patient = this.plan.patients[(n * 7919 + index) % this.plan.patients.length]!;
      const slot = this.plan.slots[Math.floor(Math.random() * this.plan.slots.length)]!;
      n += this.plan.clients;
      await this.book(patient, slot);
    }
  }

  private async book(patient: Patient, slot: ChaosSlot): Promise<void> {
    const key = randomUUID();
    const body = { slotId: slot.id, patientName: "Chaos Patient", patientContact: "chaos@example.org", confirm: true };
    const giveUpAt = performance.now() + this.plan.retryBudgetMs;
    let retried = 0;
    for (;;) {
      const started = performance.now();
      const answer = await this.send(patient, key, body);
      this.record.latenciesMs.push(performance.now() - started);
      if (answer === RETRY) {
        this.record.note(slot.shard, false);
        if (performance.now() < giveUpAt) {
          retried += 1;
          // Exponential backoff with jitter, capped at a second: a client does not hammer a
          // platform that just said "not now".
          await sleep(Math.min(1_000, 100 * 2 ** Math.min(retried, 4)) * (0.5 + Math.random() / 2));
          continue;
        }
        this.record.attempts.push({ shard: slot.shard, retried, outcome: "failed" });
        return;
      }
      if (answer.status === 429 && performance.now() < giveUpAt) {
        // The account's rate limit: wait as told (Retry-After) and send the same request again.
        retried += 1;
        await sleep(Math.max(1, Number(answer.retryAfter) || 1) * 1_000);
        continue;
      }
      this.record.note(slot.shard, true);
      if (answer.status === 200 || answer.status === 201) {
        const booking = answer.body as { id: string };
        this.record.acknowledged.push({ id: booking.id, slotId: slot.id, patientId: patient.id, shard: slot.shard, at: Date.now() });
        this.record.attempts.push({ shard: slot.shard, retried, outcome: "acknowledged" });
      } else {
        const code = (answer.body as { error?: { code?: string } } | undefined)?.error?.code ?? "";
        if (answer.status === 409 && (code === "SLOT_FULL" || code === "ALREADY_BOOKED")) {
          this.record.attempts.push({ shard: slot.shard, retried, outcome: "refused" });
        } else {
          this.record.unexpected.push(`${answer.status} ${JSON.stringify(answer.body)}`);
          this.record.attempts.push({ shard: slot.shard, retried, outcome: "failed" });
        }
      }
      return;
    }
  }

  private async send(patient: Patient, key: string, body: unknown): Promise<{ status: number; body: unknown; retryAfter?: string } | typeof RETRY> {
    try {
      const answer = await this.plan.edge.call("POST", "/bookings", body, patient.authorization, { "idempotency-key": key });
      if (answer.status === 503 || answer.status === 504) return RETRY;
      const retryAfter = answer.headers["retry-after"];
      return { status: answer.status, body: answer.body, ...(typeof retryAfter === "string" ? { retryAfter } : {}) };
    } catch {
      return RETRY; // no answer (connection refused or reset): nothing known, retry with the key
    }
  }
}
