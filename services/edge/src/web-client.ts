import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { Logger } from "@clinic/platform/logging";
import { WEB_CLIENT_OFF } from "./config";
import type { EdgeFastify } from "./type-provider";

/**
 * The page's Content-Security-Policy: the bundle's own scripts and styles only (Vite emits no
 * inline script or style), calls to this origin only, never framed. An injected `<script>` or
 * an inline handler does not run, which is what keeps a stolen-token XSS out.
 */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Paths that belong to the server: never answered with the web client's page. */
const SERVER_PATHS = /^\/(api|docs|openapi\.json|\.well-known|healthz|readyz)(\/|$)/;

/** A client route is any other GET without a file extension (`/doctors/…`, `/admin/dead-letters`). */
export const isClientRoute = (path: string): boolean => !SERVER_PATHS.test(path) && !/\.[^/]*$/.test(path);

declare module "fastify" {
  interface FastifyContextConfig {
    /** The client-route fallback: it says nothing about which methods a path allows (no 405s from it). */
    clientRoute?: true;
  }
}

/**
 * Serves the built web client at `/` from `dir`: the content-hashed files under `/assets/` with a
 * year-long immutable cache, and `index.html` (revalidated on every load, so a new release is
 * picked up at once) for `/` and every client route, so a reload or a shared link of
 * `/doctors/…` works. `/api/…` and the other server paths keep their JSON 404s.
 */
export async function registerWebClient(app: EdgeFastify, dir: string, logger: Logger): Promise<void> {
  if (dir === WEB_CLIENT_OFF) return;
  if (!existsSync(join(dir, "index.html"))) {
    logger.warn({ dir }, "no web client build here (npm run build); / serves nothing");
    return;
  }
  await app.register(fastifyStatic, {
    root: join(dir, "assets"),
    prefix: "/assets/",
    // One route per file found at start (no catch-all): a missing asset is a plain 404.
    wildcard: false,
    index: false,
    maxAge: 365 * 24 * 3600 * 1000,
    immutable: true,
    decorateReply: true,
  });
  app.get(
    "/*",
    { schema: { hide: true }, config: { clientRoute: true } },
    async (request, reply) => {
      const path = request.url.split("?")[0] ?? "/";
      if (!isClientRoute(path)) return reply.callNotFound();
      return reply
        .header("cache-control", "no-cache")
        .header("content-security-policy", WEB_CSP)
        .sendFile("index.html", dir, { maxAge: 0, cacheControl: false });
    },
  );
  logger.info({ dir }, "serving the web client at /");
}
