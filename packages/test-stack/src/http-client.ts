import { randomUUID } from "node:crypto";
import type { RunningEdge } from "@clinic/edge-service";
import type { Identity } from "./test-issuer";

export interface Signer {
  token(identity: Identity): Promise<string>;
}

/**
 * Signs in through the API (`POST /api/v1/auth/token`): for stacks running as processes, where
 * the edge's key is out of reach. The client acts for that account only.
 */
export async function signIn(baseUrl: string, email: string, password: string): Promise<Http> {
  const res = await new Http(baseUrl).post("/api/v1/auth/token", { email, password });
  if (res.status !== 200) throw new Error(`signing in as ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  const token = res.body.accessToken as string;
  return new Http(baseUrl, { token: async () => token }, { role: "patient" });
}

/** Signs tokens with the running edge's key, exactly as sign-in would. */
export function edgeSigner(edge: RunningEdge): Signer {
  return {
    token: (identity) =>
      edge.auth.issueAccessToken({
        id: identity.accountId ?? randomUUID(),
        role: identity.role,
        doctor_id: identity.role === "doctor" ? (identity.doctorId ?? randomUUID()) : null,
      }),
  };
}

/** An HTTP answer with its body parsed as JSON (undefined when there is none). */
export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A tiny JSON client for the edge: real HTTP over loopback, nothing mocked. With a signer it
 * sends an access token for its identity (an admin unless told otherwise).
 */
export class Http {
  private token: Promise<string> | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly signer?: Signer,
    private readonly identity: Identity | undefined = signer ? { role: "admin" } : undefined,
  ) {}

  /** The same client acting as another identity. */
  as(identity: Identity): Http {
    if (!this.signer) throw new Error("this client has no signer");
    return new Http(this.baseUrl, this.signer, identity);
  }

  /** The same client acting as the patient whose account id is `patientId`. */
  asPatient(patientId: string = randomUUID()): Http {
    return this.as({ role: "patient", accountId: patientId });
  }

  anonymous(): Http {
    return new Http(this.baseUrl);
  }

  /** The `authorization` header this client sends (none when anonymous), for clients of other kinds. */
  async authorization(): Promise<Record<string, string>> {
    if (!this.signer || !this.identity) return {};
    this.token ??= this.signer.token(this.identity);
    return { authorization: `Bearer ${await this.token}` };
  }

  async request<T = any>(
    method: string,
    path: string,
    options: { json?: unknown; body?: string; headers?: Record<string, string>; stream?: boolean } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (headers["authorization"] === undefined) Object.assign(headers, await this.authorization());
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(this.baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    if (options.stream && res.ok) {
      // An event stream never ends by itself: its status and headers are the answer.
      await res.body?.cancel();
      return { status: res.status, headers: res.headers, body: undefined as T };
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text === "" ? undefined : JSON.parse(text)) as T };
  }

  get = <T = any>(path: string) => this.request<T>("GET", path);
  post = <T = any>(path: string, json?: unknown, headers?: Record<string, string>) =>
    this.request<T>("POST", path, { ...(json !== undefined ? { json } : {}), ...(headers ? { headers } : {}) });
  patch = <T = any>(path: string, json: unknown) => this.request<T>("PATCH", path, { json });
  delete = <T = any>(path: string) => this.request<T>("DELETE", path);
}

/** Asserts the one error shape and returns it for further checks. */
export function expectError(answer: Answer, status: number, code: string): { code: string; message: string; details: { field: string; message: string }[] } {
  if (answer.status !== status || answer.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  const error = answer.body.error;
  if (typeof error.message !== "string" || !Array.isArray(error.details)) {
    throw new Error(`error body has the wrong shape: ${JSON.stringify(answer.body)}`);
  }
  return error;
}
