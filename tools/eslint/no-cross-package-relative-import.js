// @ts-check
"use strict";
/**
 * Reports a relative import (import/export-from, dynamic import(), require(), `import x =
 * require()`, `import("…")` types) whose target lies in another workspace package than the
 * importing file. A package is used through its name and its entry (`exports`), so what it offers
 * others is visible in one place and a move inside it never breaks another package.
 *
 * The packages are the root package.json's `workspaces`, plus the root package itself for the
 * folders no workspace claims (test/, chaos/, scripts/, tools/).
 */
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");

/** @typedef {{ dir: string, name: string }} WorkspacePackage */

/** @type {WorkspacePackage[] | undefined} */
let packages;

/** Every workspace package, deepest folder first (so a nested one wins over its parent). */
function workspacePackages() {
  if (packages) return packages;
  const manifest = (/** @type {string} */ dir) => JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const root = manifest(ROOT);
  /** @type {string[]} */
  const workspaces = Array.isArray(root.workspaces) ? root.workspaces : (root.workspaces?.packages ?? []);
  packages = workspaces
    .map((w) => path.join(ROOT, w))
    .filter((dir) => fs.existsSync(path.join(dir, "package.json")))
    .map((dir) => ({ dir, name: manifest(dir).name ?? path.relative(ROOT, dir) }))
    .sort((a, b) => b.dir.length - a.dir.length);
  packages.push({ dir: ROOT, name: root.name ?? "the root package" });
  return packages;
}

/** The package a file belongs to; undefined outside the repository. */
function packageOf(/** @type {string} */ file) {
  return workspacePackages().find((p) => file === p.dir || file.startsWith(p.dir + path.sep));
}

/** @type {import("eslint").Rule.RuleModule} */
module.exports = {
  meta: {
    type: "problem",
    docs: { description: "forbid relative imports that reach into another workspace package" },
    schema: [],
    messages: {
      crossPackage:
        '"{{source}}" reaches from {{from}} into {{to}} by path: import it by its package name ({{to}}), from what its entry exports.',
    },
  },
  create(context) {
    const filename = context.physicalFilename ?? context.filename;
    if (!path.isAbsolute(filename)) return {};
    const own = packageOf(filename);
    if (!own) return {};

    /** @param {import("estree").Node | null | undefined} node */
    function check(node) {
      if (!node || node.type !== "Literal" || typeof node.value !== "string") return;
      const source = node.value;
      if (source !== "." && source !== ".." && !source.startsWith("./") && !source.startsWith("../")) return;
      const target = packageOf(path.resolve(path.dirname(filename), source));
      if (!target || target === own) return;
      context.report({ node, messageId: "crossPackage", data: { source, from: own.name, to: target.name } });
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      CallExpression(node) {
        if (node.callee.type === "Identifier" && node.callee.name === "require") check(/** @type {any} */ (node.arguments[0]));
      },
      // TypeScript only: `import x = require("…")` and `import("…").Type`.
      /** @param {any} node */
      TSExternalModuleReference: (node) => check(node.expression),
      /** @param {any} node */
      TSImportType: (node) => check(node.argument?.type === "TSLiteralType" ? node.argument.literal : node.argument),
    };
  },
};
