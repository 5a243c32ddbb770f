import createClient, { type Middleware } from "openapi-fetch";
import { ApiFailure, failureFrom } from "./errors";
import type { paths } from "./generated/schema";
import { accessToken, endSession, refreshTokens } from "./tokens";

/** Sign-in, refresh and logout carry their own credentials in the body, never the bearer token. */
const AUTH_PATH = /^\/api\/v1\/auth\//;

/** Requests as first sent, for the one retry after a silent refresh (a sent body cannot be read twice). */
const originals = new WeakMap<Request, Request>();

const bearer: Middleware = {
  async onRequest({ request, schemaPath }) {
    if (AUTH_PATH.test(schemaPath)) return undefined;
    const token = await accessToken();
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    originals.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || !request.headers.has("authorization")) return undefined;
    const code = failureFrom(response, await response.clone().json().catch(() => undefined)).code;
    if (code === "TOKEN_EXPIRED") {
      // The token lapsed on the way (a sleeping laptop): refresh once and send the request again.
      const retry = originals.get(request);
      const token = await refreshTokens().catch(() => undefined);
      if (retry && token) {
        retry.headers.set("authorization", `Bearer ${token}`);
        return fetch(retry);
      }
    }
    if (code === "TOKEN_REVOKED" || code === "INVALID_TOKEN" || code === "TOKEN_EXPIRED") endSession(code);
    return undefined;
  },
};

/** The API client, typed by the OpenAPI document the edge's own code produces (see `npm run generate`). */
export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(bearer);

/**
 * Awaits an API call: its data on success, an `ApiFailure` (the API's code, message, fields and
 * `Retry-After`) otherwise, so every page reports errors the same way.
 */
export async function call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (err) {
    if (err instanceof ApiFailure) throw err;
    throw new ApiFailure(0, "NETWORK", err instanceof Error ? err.message : String(err));
  }
  if (!result.response.ok) throw failureFrom(result.response, result.error);
  return result.data as T;
}

/** A fresh key per attempt to book: a retry of the same attempt (a lost answer) gets the same booking. */
export function newIdempotencyKey(): string {
  // randomUUID exists only in secure contexts (HTTPS, localhost); getRandomValues everywhere.
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
