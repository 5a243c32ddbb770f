import cors from "@fastify/cors";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EdgeConfig } from "./config";
import type { EdgeFastify } from "./type-provider";

/** Sets the headers every answer carries; `onSend` does, and a stream does itself before writing its head. */
export type SecurityHeaders = (request: FastifyRequest, reply: FastifyReply) => void;

/** The interactive docs load scripts and styles; the web client's page has its own policy; the rest is JSON. */
const DOCS_PREFIX = "/docs";

/**
 * Headers every answer carries: JSON is never sniffed as HTML, never framed, never sent as a
 * referrer, and (behind TLS) only ever fetched over HTTPS. API answers are personal, so shared
 * caches must not keep them unless a route says otherwise (the JWKS does).
 */
export async function registerSecurityHeaders(app: EdgeFastify, config: EdgeConfig): Promise<SecurityHeaders> {
  const hsts = config.HSTS_MAX_AGE_SECONDS > 0 ? `max-age=${config.HSTS_MAX_AGE_SECONDS}; includeSubDomains` : undefined;
  const apply: SecurityHeaders = (request, reply) => {
    void reply.header("x-content-type-options", "nosniff");
    void reply.header("x-frame-options", "DENY");
    void reply.header("referrer-policy", "no-referrer");
    void reply.header("cross-origin-opener-policy", "same-origin");
    if (hsts) void reply.header("strict-transport-security", hsts);
    // The web client's page sets its own policy (web-client.ts); everything else is data.
    if (!request.url.startsWith(DOCS_PREFIX)) {
      if (!reply.hasHeader("content-security-policy")) void reply.header("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
      if (!reply.hasHeader("cache-control")) void reply.header("cache-control", "no-store");
    }
  };
  app.addHook("onSend", async (request, reply, payload) => {
    apply(request, reply);
    return payload;
  });

  // Browsers may call the API only from the configured origins; tokens travel in the
  // Authorization header, never in cookies, so credentials mode stays off.
  const origins = config.CORS_ALLOWED_ORIGINS ?? [];
  await app.register(cors, {
    origin: origins.length > 0 ? origins : false,
    methods: ["GET", "POST", "PATCH", "DELETE"],
    // EventSource sends Last-Event-ID when it reconnects to an availability stream.
    allowedHeaders: ["authorization", "content-type", "idempotency-key", "last-event-id"],
    exposedHeaders: [
      "location",
      "x-request-id",
      "retry-after",
      "ratelimit-limit",
      "ratelimit-remaining",
      "ratelimit-reset",
      "ratelimit-policy",
    ],
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  });
  return apply;
}
