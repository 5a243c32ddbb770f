#!/usr/bin/env node
/**
 * Moves imports from the root `@clinic/platform` entry to its concern subpaths:
 *
 *   import { createLogger, type Logger, unary as call } from "@clinic/platform";
 * becomes
 *   import { unary as call } from "@clinic/platform/grpc";
 *   import { createLogger, type Logger } from "@clinic/platform/logging";
 *
 * Which subpath holds a name is read from the subpaths' own index files
 * (packages/platform/src/<subpath>/index.ts, one per `exports` entry of the package), so the
 * table cannot drift from what the package exports. `type` modifiers (on the declaration or on
 * a name) and aliases are kept; names joining an import that already reads from the same
 * subpath are merged into it. A file whose imports cannot all be placed (a name no subpath
 * exports, `import * as`) is left untouched and reported, and the run exits non-zero.
 * Running it again changes nothing: only imports of the root entry are rewritten.
 *
 * Usage: node tools/codemods/platform-subpaths.mjs [--dry-run] <file or directory>...
 * Directories are walked for .ts/.tsx/.mts/.cts files (node_modules and dist are skipped).
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ts = createRequire(join(ROOT, "package.json"))("typescript");
const PLATFORM = join(ROOT, "packages", "platform");
const ROOT_ENTRY = "@clinic/platform";
const MAX_LINE = 120;
/** Marks, in a subpath's group key, the names of an `import type` declaration. */
const TYPE_GROUP = " (type)";

/** name -> { subpath, typeOnly } from every subpath index named in the package's `exports`. */
function exportTable() {
  const manifest = JSON.parse(readFileSync(join(PLATFORM, "package.json"), "utf8"));
  const table = new Map();
  for (const key of Object.keys(manifest.exports ?? {})) {
    if (key === ".") continue;
    const subpath = key.replace(/^\.\//, "");
    const file = join(PLATFORM, "src", subpath, "index.ts");
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    for (const statement of source.statements) {
      if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) {
        if (ts.isExportDeclaration(statement)) throw new Error(`${file}: only named exports are read, found \`${statement.getText()}\``);
        continue;
      }
      for (const element of statement.exportClause.elements) {
        const name = element.name.text;
        const earlier = table.get(name);
        if (earlier && earlier.subpath !== subpath) throw new Error(`${name} is exported by both /${earlier.subpath} and /${subpath}`);
        table.set(name, { subpath, typeOnly: statement.isTypeOnly || element.isTypeOnly });
      }
    }
  }
  return table;
}

function sourceFiles(paths) {
  const files = [];
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) {
        if (entry === "node_modules" || entry === "dist" || entry.startsWith(".")) continue;
        visit(join(path, entry));
      }
    } else if (/\.(c|m)?tsx?$/.test(path) && !path.endsWith(".d.ts")) {
      files.push(path);
    }
  };
  for (const path of paths) visit(resolve(path));
  return files;
}

const elementText = (element) => {
  const type = element.isTypeOnly ? "type " : "";
  const alias = element.propertyName ? `${element.propertyName.text} as ${element.name.text}` : element.name.text;
  return `${type}${alias}`;
};

/** `import { ... } from "spec";` on one line if it fits, else one name per line. */
function importText(specifier, elements, indent, typeOnly = false) {
  const keyword = typeOnly ? "import type" : "import";
  const line = `${keyword} { ${elements.join(", ")} } from "${specifier}";`;
  if (indent.length + line.length <= MAX_LINE) return line;
  return `${keyword} {\n${elements.map((e) => `${indent}  ${e},`).join("\n")}\n${indent}} from "${specifier}";`;
}

/** Rewrites one file's text; returns undefined when nothing is to change. Throws on what it cannot place. */
export function rewrite(fileName, text, table) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const rootImports = [];
  const subpathImports = new Map();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    if (specifier === ROOT_ENTRY) rootImports.push(statement);
    else if (specifier.startsWith(`${ROOT_ENTRY}/`)) {
      const clause = statement.importClause;
      // Only a plain named import takes merged names; `import type { }` keeps its own meaning.
      if (clause && !clause.isTypeOnly && !clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
        subpathImports.set(specifier.slice(ROOT_ENTRY.length + 1), statement);
      }
    }
  }
  if (rootImports.length === 0) return undefined;

  const bySubpath = new Map();
  const problems = [];
  for (const statement of rootImports) {
    const clause = statement.importClause;
    if (!clause) {
      problems.push(`side-effect import \`${statement.getText()}\``);
      continue;
    }
    if (clause.name || !clause.namedBindings || !ts.isNamedImports(clause.namedBindings)) {
      problems.push(`\`${statement.getText()}\` is not a plain named import`);
      continue;
    }
    for (const element of clause.namedBindings.elements) {
      const name = (element.propertyName ?? element.name).text;
      const entry = table.get(name);
      if (!entry) {
        problems.push(`no subpath exports ${name}`);
        continue;
      }
      // `import type { }` stays a declaration of its own per subpath, so it stays erased.
      const key = `${entry.subpath}${clause.isTypeOnly ? TYPE_GROUP : ""}`;
      const list = bySubpath.get(key) ?? [];
      list.push(elementText(element));
      bySubpath.set(key, list);
    }
  }
  if (problems.length > 0) throw new Error(problems.join("; "));

  const edits = [];
  // Names for a subpath the file imports already join that import.
  for (const [subpath, statement] of subpathImports) {
    const names = bySubpath.get(subpath);
    if (!names) continue;
    bySubpath.delete(subpath);
    const existing = statement.importClause.namedBindings.elements.map((e) => elementText(e));
    const merged = [...new Set([...existing, ...names])];
    edits.push({ start: statement.getStart(source), end: statement.end, text: importText(`${ROOT_ENTRY}/${subpath}`, merged, "") });
  }
  // The remaining subpaths take the place of the first root import, in subpath order; the other
  // root imports (and the first, when every name joined an existing import) go with their line.
  const [first] = rootImports;
  const lineStart = text.lastIndexOf("\n", first.getStart(source)) + 1;
  const indent = text.slice(lineStart, first.getStart(source)).match(/^\s*/)[0];
  const replacement = [...bySubpath]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, names]) => {
      const specifier = `${ROOT_ENTRY}/${key.replace(TYPE_GROUP, "")}`;
      const unique = [...new Set(names)];
      // Only types from this subpath: `import type { A }` says so once (and is erased as a whole).
      if (!key.endsWith(TYPE_GROUP) && unique.every((name) => name.startsWith("type "))) {
        return importText(specifier, unique.map((name) => name.slice("type ".length)), indent, true);
      }
      return importText(specifier, unique, indent, key.endsWith(TYPE_GROUP));
    })
    .join(`\n${indent}`);
  for (const statement of rootImports) {
    if (statement === first && replacement !== "") {
      edits.push({ start: first.getStart(source), end: first.end, text: replacement });
    } else {
      const end = text[statement.end] === "\n" ? statement.end + 1 : statement.end;
      edits.push({ start: statement.getStart(source), end, text: "" });
    }
  }

  let result = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  }
  return result === text ? undefined : result;
}

function main(argv) {
  const dryRun = argv.includes("--dry-run");
  const paths = argv.filter((arg) => arg !== "--dry-run");
  if (paths.length === 0) {
    process.stderr.write("usage: node tools/codemods/platform-subpaths.mjs [--dry-run] <file or directory>...\n");
    return 2;
  }
  const table = exportTable();
  let changed = 0;
  let failed = 0;
  for (const file of sourceFiles(paths)) {
    const text = readFileSync(file, "utf8");
    let next;
    try {
      next = rewrite(file, text, table);
    } catch (err) {
      failed += 1;
      process.stderr.write(`${relative(ROOT, file)}: left as it is: ${err.message}\n`);
      continue;
    }
    if (next === undefined) continue;
    changed += 1;
    if (dryRun) process.stdout.write(`${relative(ROOT, file)}: would be rewritten\n`);
    else writeFileSync(file, next);
  }
  process.stdout.write(`${changed} file(s) ${dryRun ? "to rewrite" : "rewritten"}, ${failed} left with problems\n`);
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
