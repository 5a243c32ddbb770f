import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScratchDatabase, type ScratchDatabase, startTestEdge, uniqueKeyPrefix } from "@clinic/test-stack";
import type { RunningEdge } from "../src/app";
import { WEB_CSP } from "../src/web-client";

/**
 * The edge serving a web build on the API's own origin: hashed assets cached for a year,
 * index.html revalidated, client routes answered with index.html, and the API's 404s, 405s and
 * policy untouched. The build here is a small stand-in directory of the same layout as Vite's
 * output; test/web.test.ts drives the real build in a browser.
 */
/**
 * fetch, with every answer's body read at once: an unread body keeps its keep-alive connection
 * busy, and that socket outlived the edge and held the jest worker open after the tests.
 */
async function fetch(url: string, init?: RequestInit): Promise<Response> {
  const res = await globalThis.fetch(url, init);
  const body = await res.arrayBuffer();
  const empty = res.status === 204 || res.status === 304;
  return new Response(empty ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

let database: ScratchDatabase;
let edge: RunningEdge;
let dir: string;
let base: string;
const INDEX = '<!doctype html><html lang="en"><head><script type="module" src="/assets/app-3f9a1c.js"></script></head><body></body></html>';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "web-dist-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), INDEX);
  writeFileSync(join(dir, "assets", "app-3f9a1c.js"), "console.log('app');\n");
  database = await createScratchDatabase("edge_web");
  edge = await startTestEdge(database.name, { WEB_DIR: dir, RATE_LIMIT_KEY_PREFIX: uniqueKeyPrefix("edge_web") });
  base = `http://127.0.0.1:${edge.port}`;
});

afterAll(async () => {
  await edge?.lifecycle.shutdown("test finished");
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the web client at /", () => {
  it.each(["/", "/doctors", "/doctors/0b3c6a52-8a3b-4a4f-9a57-3f1f1b6c9d10?week=2027-03-29", "/admin/dead-letters"])(
    "answers the client route %s with index.html, revalidated every time, under the page's CSP",
    async (path) => {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toBe(WEB_CSP);
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(await res.text()).toBe(INDEX);
    },
  );

  it("serves hashed assets with a year-long immutable cache, and revalidates with the ETag", async () => {
    const res = await fetch(`${base}/assets/app-3f9a1c.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const etag = res.headers.get("etag");
    expect(etag).toBeTruthy();
    // As a browser revalidates (fetch() would add `cache-control: no-cache`, which forbids a 304).
    const again = await fetch(`${base}/assets/app-3f9a1c.js`, { headers: { "if-none-match": etag!, "cache-control": "max-age=0" } });
    expect(again.status).toBe(304);
  });

  it("never answers index.html for a missing file, the API or the server's own paths", async () => {
    for (const path of ["/assets/missing-0000.js", "/favicon.ico", "/api/v1/nothing-here", "/api/v1"]) {
      const res = await fetch(base + path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    }
    // An API path that exists with other methods is still a 405 naming them.
    const wrongMethod = await fetch(`${base}/api/v1/auth/token`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    // The API keeps its own data-only policy.
    const api = await fetch(`${base}/api/v1/doctors/not-a-uuid`);
    expect(api.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect((await fetch(`${base}/openapi.json`)).headers.get("content-type")).toMatch(/json/);
  });

  it("answers other methods on client routes with 404, not a 405 that would invent methods", async () => {
    const res = await fetch(`${base}/doctors`, { method: "POST" });
    expect(res.status).toBe(404);
  });

  it("keeps the web routes out of the OpenAPI document", async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith("/api/v1/") && p !== "/.well-known/jwks.json")).toEqual([]);
  });
});
