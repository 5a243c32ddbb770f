import type { IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";
import type { Outcome } from "../stats";
import { failure, type Patient, type SlotRef, type Target } from "./target";

type Method = "GET" | "POST" | "PATCH";

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** How long one seeding request waits out the edge's rate limit before giving up. */
const SEED_RATE_LIMIT_PATIENCE_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Mode (a): the full path, HTTP/JSON through the edge. One undici pool with as many keep-alive
 * connections as clients, so a client never waits for a socket inside the harness and the
 * measured latency is the server's (plus loopback), not a client-side queue. Every request
 * carries the patient's access token.
 */
export class EdgeTarget implements Target {
  private readonly pool: Pool;
  private readonly prefix: string;
  /** Seeding requests the edge refused with 429 and that were retried after `Retry-After`. */
  seedRetries = 0;

  constructor(baseUrl: string, connections: number) {
    const url = new URL(baseUrl);
    this.pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.prefix = `${url.pathname.replace(/\/$/, "")}/api/v1`;
  }

  /**
   * For seeding and setup: throws on anything but 2xx, with the server's error. A 429 is waited
   * out (`Retry-After`) and retried: seeding is not measured, and on a stack with the default
   * limits a doctor opening hundreds of slots does go over its account's budget.
   */
  async request<T>(method: Method, path: string, body: unknown, authorization: string | undefined): Promise<T> {
    const giveUpAt = Date.now() + SEED_RATE_LIMIT_PATIENCE_MS;
    for (;;) {
      const answer = await this.call(method, path, body, authorization);
      if (answer.status === 429 && Date.now() < giveUpAt) {
        this.seedRetries += 1;
        await sleep(Math.max(1, Number(answer.headers["retry-after"]) || 1) * 1000);
        continue;
      }
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      return answer.body as T;
    }
  }

  async call(method: Method, path: string, body: unknown, authorization: string | undefined, extraHeaders: Record<string, string> = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await this.pool.request({
      method,
      path: `${this.prefix}${path}`,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // Always read the body: an unread body keeps the connection from being reused.
    const text = await res.body.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  }

  private async outcome(method: "GET" | "POST", path: string, patient: Patient, body?: unknown): Promise<Outcome> {
    try {
      const answer = await this.call(method, path, body, patient.authorization);
      if (answer.status >= 200 && answer.status <= 299) {
        const id = (answer.body as { id?: unknown } | undefined)?.id;
        return { ok: true, status: String(answer.status), ...(typeof id === "string" ? { bookingId: id } : {}) };
      }
      const code = (answer.body as { error?: { code?: unknown } } | undefined)?.error?.code;
      return { ok: false, status: `${answer.status}${typeof code === "string" ? ` ${code}` : ""}` };
    } catch (err) {
      return failure(err);
    }
  }

  /** The patient is the token's subject: the body names only the slot and the contact details. */
  hold(slot: SlotRef, patient: Patient): Promise<Outcome> {
    return this.outcome("POST", "/bookings", patient, {
      slotId: slot.id,
      patientName: patient.name,
      patientContact: patient.contact,
    });
  }

  confirm(bookingId: string, patient: Patient): Promise<Outcome> {
    return this.outcome("POST", `/bookings/${bookingId}/confirm`, patient);
  }

  cancel(bookingId: string, patient: Patient): Promise<Outcome> {
    return this.outcome("POST", `/bookings/${bookingId}/cancel`, patient);
  }

  listDoctors(patient: Patient): Promise<Outcome> {
    return this.outcome("GET", "/doctors?pageSize=20", patient);
  }

  listSlots(doctorId: string, patient: Patient): Promise<Outcome> {
    return this.outcome("GET", `/doctors/${doctorId}/slots?pageSize=20`, patient);
  }

  availability(slotIds: readonly string[], patient: Patient): Promise<Outcome> {
    return this.outcome("GET", `/availability?slotIds=${slotIds.join(",")}`, patient);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
