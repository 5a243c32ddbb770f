import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ERROR_CODES } from "./error-codes";

const ROOT = join(__dirname, "..", "..", "..", "..");

/** The TypeScript sources that answer API errors: each service's src and the shared platform. */
function sourceFiles(): string[] {
  const dirs = [
    ...readdirSync(join(ROOT, "services"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(ROOT, "services", entry.name, "src")),
    join(ROOT, "packages", "platform", "src"),
  ];
  return dirs.flatMap((dir) =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
      .map((entry) => join(entry.parentPath, entry.name)),
  );
}

const CODE = String.raw`"([A-Z][A-Z0-9_]*)"`;

/**
 * The ways source code names a code it answers with. Each pattern's first group is the code, or
 * (with `derive`) the word the code is made from.
 */
const THROW_SITES: { pattern: RegExp; derive?: (word: string) => string }[] = [
  // new DomainError("conflict", "SLOT_FULL", ...), new ApiError(409, "EMAIL_TAKEN", ...), subclasses alike
  { pattern: new RegExp(String.raw`new [A-Z]\w*\(\s*(?:"[a-z_]+"|\d{3}),\s*${CODE}`, "g") },
  // unauthenticated("INVALID_TOKEN", ...), unauthorized(reply, "AUTHENTICATION_REQUIRED", ...)
  { pattern: new RegExp(String.raw`\b(?:unauthenticated|unauthorized)\((?:\w+,\s*)?${CODE}`, "g") },
  // tables of failures: { code: "TOKEN_EXPIRED", message }, { status: 400, code: "MALFORMED_JSON", ... }
  { pattern: new RegExp(String.raw`\bcode: ${CODE}`, "g") },
  // [reason, message] pairs: ["BOOKING_ALREADY_CONFIRMED", "booking is already confirmed"]
  { pattern: new RegExp(String.raw`\[\s*${CODE},\s*["\x60][a-z]`, "g") },
  // codes by HTTP status: 405: "METHOD_NOT_ALLOWED"
  { pattern: new RegExp(String.raw`^\s*\d{3}: ${CODE}`, "gm") },
  // the reason a server-side failure goes out with: metadata.set(ERROR_REASON_KEY, "INTERNAL")
  { pattern: new RegExp(String.raw`ERROR_REASON_KEY, ${CODE}`, "g") },
  // notFound("slot", id) answers SLOT_NOT_FOUND
  { pattern: /\bnotFound\("(\w+)"/g, derive: (entity) => `${entity.toUpperCase()}_NOT_FOUND` },
  // fromRemoteError(err, { peer: "slot", ... }) answers SLOT_SERVICE_UNAVAILABLE for a peer down
  { pattern: /\bpeer: "(\w+)"/g, derive: (peer) => `${peer.toUpperCase()}_SERVICE_UNAVAILABLE` },
];

/** Every code thrown anywhere, with the first file that throws it. */
function thrownCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles()) {
    const text = readFileSync(file, "utf8");
    for (const { pattern, derive } of THROW_SITES) {
      for (const match of text.matchAll(pattern)) {
        const code = derive ? derive(match[1]!) : match[1]!;
        if (!found.has(code)) found.set(code, relative(ROOT, file));
      }
    }
  }
  return found;
}

describe("ERROR_CODES", () => {
  const thrown = thrownCodes();

  it("lists every code a service, the platform or the edge throws", () => {
    const missing = [...thrown].filter(([code]) => !(ERROR_CODES as readonly string[]).includes(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });

  it("lists no code that nothing throws", () => {
    expect(ERROR_CODES.filter((code) => !thrown.has(code))).toEqual([]);
  });

  it("lists each code once", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
