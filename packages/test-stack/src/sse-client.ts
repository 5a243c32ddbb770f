import * as http from "node:http";

/** One Server-Sent Events message as a browser's EventSource would dispatch it. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
  /** `Date.now()` when it was parsed. */
  at: number;
}

export interface SseOpenOptions {
  agent?: http.Agent;
  headers?: Record<string, string>;
  /** The client's own address (any of 127.0.0.0/8 on Linux), to be a different client to the edge. */
  localAddress?: string;
}

/**
 * A plain `http` client of a `text/event-stream` answer, parsing the stream itself (fields `id`,
 * `event`, `data`, `retry`, comment lines), as the HTML standard's EventSource does. A non-200
 * answer is read whole and kept as JSON in `body`.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** The last `id` seen, which EventSource would send back as `Last-Event-ID`. */
  lastEventId: string | undefined;
  body: unknown;
  /** Resolves when the server ends the stream or the connection closes. */
  readonly ended: Promise<void>;
  private buffer = "";
  private waiters: (() => void)[] = [];
  private resolveEnded!: () => void;

  private constructor(
    private readonly request: http.ClientRequest,
    readonly response: http.IncomingMessage,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    response.setEncoding("utf8");
    if (response.statusCode === 200) {
      response.on("data", (chunk: string) => this.parse(chunk));
    } else {
      let text = "";
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => (this.body = text ? JSON.parse(text) : undefined));
    }
    const done = () => {
      this.resolveEnded();
      this.notify();
    };
    response.on("end", done);
    response.on("close", done);
    response.on("error", done);
  }

  static open(baseUrl: string, path: string, options: SseOpenOptions = {}): Promise<SseClient> {
    const url = new URL(path, baseUrl);
    return new Promise((resolve, reject) => {
      const request = http.get(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers: { accept: "text/event-stream", ...options.headers },
          ...(options.agent ? { agent: options.agent } : {}),
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        },
        (response) => resolve(new SseClient(request, response)),
      );
      request.on("error", reject);
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The availability messages, parsed, in order. */
  availability(): { slotId: string; capacity: number; held: number; remaining: number }[] {
    return this.messages.filter((m) => m.event === "availability").map((m) => JSON.parse(m.data));
  }

  /** Waits until `check` returns a value (checked after every message and comment), or fails after `timeoutMs`. */
  async waitFor<T>(check: () => T | undefined, timeoutMs = 10_000, what = "condition"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE: ${what} not met within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => [m.event, m.data]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The client goes away (as a closed browser tab does). */
  close(): void {
    this.request.destroy();
    this.response.destroy();
  }

  private parse(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
        else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
      }
      if (id !== undefined) this.lastEventId = id;
      if (data.length > 0) this.messages.push({ id, event, data: data.join("\n"), at: Date.now() });
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
