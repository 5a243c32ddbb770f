import { Pool } from "undici";
import type { Outcome } from "../stats";
import { failure, type Patient, type SlotRef, type Target } from "./target";

interface Answer {
  status: number;
  body: unknown;
}

/**
 * Mode (a): the full path, HTTP/JSON through the edge. One undici pool with as many keep-alive
 * connections as clients, so a client never waits for a socket inside the harness and the
 * measured latency is the server's (plus loopback), not a client-side queue.
 */
export class EdgeTarget implements Target {
  private readonly pool: Pool;
  private readonly prefix: string;

  constructor(baseUrl: string, connections: number) {
    const url = new URL(baseUrl);
    this.pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.prefix = `${url.pathname.replace(/\/$/, "")}/api/v1`;
  }

  /** For seeding: throws on anything but 2xx, with the server's error. */
  async request<T>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<T> {
    const answer = await this.call(method, path, body);
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body as T;
  }

  private async call(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<Answer> {
    const res = await this.pool.request({
      method,
      path: `${this.prefix}${path}`,
      headers: body === undefined ? {} : { "content-type": "application/json" },
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
    return { status: res.statusCode, body: parsed };
  }

  private async outcome(method: "GET" | "POST", path: string, body?: unknown): Promise<Outcome> {
    try {
      const answer = await this.call(method, path, body);
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

  hold(slot: SlotRef, patient: Patient): Promise<Outcome> {
    return this.outcome("POST", "/bookings", {
      slotId: slot.id,
      patientId: patient.id,
      patientName: patient.name,
      patientContact: patient.contact,
    });
  }

  confirm(bookingId: string): Promise<Outcome> {
    return this.outcome("POST", `/bookings/${bookingId}/confirm`);
  }

  cancel(bookingId: string): Promise<Outcome> {
    return this.outcome("POST", `/bookings/${bookingId}/cancel`);
  }

  listDoctors(): Promise<Outcome> {
    return this.outcome("GET", "/doctors?pageSize=20");
  }

  listSlots(doctorId: string): Promise<Outcome> {
    return this.outcome("GET", `/doctors/${doctorId}/slots?pageSize=20`);
  }

  availability(slotIds: readonly string[]): Promise<Outcome> {
    return this.outcome("GET", `/availability?slotIds=${slotIds.join(",")}`);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
