import {
  ANONYMOUS,
  bearerToken,
  callerFromClaims,
  type AccountCaller,
  type Caller,
  type Role,
} from "@clinic/platform/auth";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Counter, type Registry } from "prom-client";
import type { AuthService } from "./auth/service";
import { ApiError } from "./errors";
import { rateLimitHeaders, type RateLimiter } from "./rate-limit";
import { ErrorSchema, ref } from "./schemas/common";
import type { EdgeFastify } from "./type-provider";

/**
 * Who may call a route. Every API route declares one (the server refuses to start otherwise), so
 * a new route cannot be public by accident. The edge checks what it can from the token and the
 * path; the services check again from the forwarded token, including who owns a booking or slot.
 */
export type Access =
  | { kind: "public" }
  | {
      kind: "account";
      /** Roles allowed; all when unset. */
      roles?: readonly Role[];
      /** Path parameter holding a patient (account) id: only that patient, or an admin. */
      ownPatient?: string;
      /** Path parameter holding a doctor id: only that doctor's account, or an admin. */
      ownDoctor?: string;
    };

export const access = {
  public: { kind: "public" } as Access,
  account: { kind: "account" } as Access,
  admin: { kind: "account", roles: ["admin"] } as Access,
  doctorOrAdmin: { kind: "account", roles: ["doctor", "admin"] } as Access,
  ownPatient: (param: string): Access => ({ kind: "account", ownPatient: param }),
  ownDoctor: (param: string): Access => ({ kind: "account", roles: ["doctor", "admin"], ownDoctor: param }),
};

declare module "fastify" {
  interface FastifyRequest {
    /** The verified caller; anonymous until a valid token says otherwise. */
    caller: Caller;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

const TOKEN_FAILURES: Record<string, { code: string; message: string }> = {
  expired: { code: "TOKEN_EXPIRED", message: "the access token has expired; refresh it" },
  revoked: { code: "TOKEN_REVOKED", message: "the access token's sign-in was revoked; sign in again" },
};

function unauthorized(reply: FastifyReply, code: string, message: string): ApiError {
  // RFC 6750: tell the client which scheme to use and, for a bad token, that it was the token.
  void reply.header("www-authenticate", code === "AUTHENTICATION_REQUIRED" ? 'Bearer realm="clinic"' : `Bearer realm="clinic", error="invalid_token"`);
  return new ApiError(401, code, message);
}

/** The caller of a route whose rule requires an account (the onRequest hook has checked it). */
export function accountOf(request: FastifyRequest): AccountCaller {
  if (request.caller.kind !== "account") throw new ApiError(401, "AUTHENTICATION_REQUIRED", "this operation needs an access token");
  return request.caller;
}

const forbidden = (message: string) => new ApiError(403, "FORBIDDEN", message);

const SECURITY_RESPONSES = {
  401: ref(ErrorSchema, {
    description: "No access token, or a bad one (`AUTHENTICATION_REQUIRED`, `INVALID_TOKEN`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`).",
  }),
  403: ref(ErrorSchema, { description: "The caller's role or identity may not do this (`FORBIDDEN`)." }),
};
const RATE_LIMITED = {
  429: ref(ErrorSchema, { description: "Too many requests (`RATE_LIMITED`); see `Retry-After`." }),
};

export interface AccessControlOptions {
  auth: AuthService;
  limiter: RateLimiter;
  registry: Registry;
}

/**
 * Authentication, rate limiting and role checks, in that order, for every route that declares
 * `config.access`. Health, metrics and documentation routes declare none and are untouched.
 */
export function registerAccessControl(app: EdgeFastify, options: AccessControlOptions): void {
  const { auth, limiter } = options;
  const failures = new Counter({
    name: "auth_failures_total",
    help: "Requests refused for their access token or their lack of one, by reason",
    labelNames: ["reason"],
    registers: [options.registry],
  });

  // Set by the onRequest hook below on every request (a shared object default is not allowed).
  app.decorateRequest("caller", null as never);

  app.addHook("onRoute", (route) => {
    const rule = route.config?.access;
    if (!rule) {
      if (route.url.startsWith("/api/")) throw new Error(`route ${String(route.method)} ${route.url} declares no access rule`);
      return;
    }
    if (!route.schema || route.schema.hide) return;
    // The OpenAPI document says which routes need a token and what refusing looks like.
    const responses = (route.schema.response ?? {}) as Record<string, unknown>;
    // A route's own description of a status (the sign-in's 401 and 429, say) wins.
    route.schema.response = { ...RATE_LIMITED, ...(rule.kind === "account" ? SECURITY_RESPONSES : {}), ...responses };
    if (rule.kind === "account") (route.schema as { security?: unknown }).security = [{ bearerAuth: [] }];
  });

  app.addHook("onRequest", async (request, reply) => {
    request.caller = ANONYMOUS;
    const rule = request.routeOptions.config.access;
    if (!rule) return;

    const header = request.headers.authorization;
    let refusal: ApiError | undefined;
    if (header !== undefined) {
      const token = bearerToken(header);
      const result = token ? await auth.authenticate(token) : undefined;
      if (result?.ok) request.caller = callerFromClaims(result.claims, header);
      else {
        const failure = result ? result.failure : "malformed";
        failures.inc({ reason: failure });
        const known = TOKEN_FAILURES[failure] ?? { code: "INVALID_TOKEN", message: "the access token is not valid" };
        refusal = unauthorized(reply, known.code, known.message);
      }
    }

    // Counted before refusing, so a stream of bad tokens spends its IP's anonymous budget.
    const caller = request.caller;
    const decision = await limiter.check({
      ip: request.ip,
      ...(caller.kind === "account" ? { accountId: caller.accountId } : {}),
    });
    void reply.headers(rateLimitHeaders(decision));
    if (!decision.allowed) {
      throw new ApiError(429, "RATE_LIMITED", `too many requests; retry in ${decision.retryAfterSeconds ?? 1} s`);
    }
    if (refusal) throw refusal;

    if (rule.kind === "public") return;
    if (caller.kind !== "account") {
      failures.inc({ reason: "missing" });
      throw unauthorized(reply, "AUTHENTICATION_REQUIRED", "this operation needs an access token (Authorization: Bearer ...)");
    }
    if (rule.roles && !rule.roles.includes(caller.role)) {
      throw forbidden(`this operation is for ${rule.roles.join(" or ")} accounts`);
    }
  });

  // Path ownership needs validated params, so it runs after validation.
  app.addHook("preHandler", async (request: FastifyRequest) => {
    const rule = request.routeOptions.config.access;
    const caller = request.caller;
    if (rule?.kind !== "account" || caller.kind !== "account" || caller.role === "admin") return;
    const params = request.params as Record<string, string>;
    if (rule.ownPatient && params[rule.ownPatient] !== caller.accountId) {
      throw forbidden("patients see their own bookings only");
    }
    if (rule.ownDoctor && params[rule.ownDoctor] !== caller.doctorId) {
      throw forbidden("doctors manage their own slots and bookings only");
    }
  });
}
