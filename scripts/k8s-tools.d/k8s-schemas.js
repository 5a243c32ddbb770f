// Copies the Kubernetes JSON schemas that the PyPI package kubernetes-validate bundles into
// kubeconform's layout (<dir>/<kind>[-<group>]-<version>.json). The package's schemas name
// each other by absolute URLs (an "$id" on kubernetes.io and "$ref": "/api/_definitions.json");
// here they become plain relative file references, so kubeconform resolves them offline.
//
// usage: node k8s-schemas.js <kubernetes-validate schema dir> <out-dir>
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const [srcDir, outDir] = process.argv.slice(2);
if (!srcDir || !outDir) {
  process.stderr.write("usage: node k8s-schemas.js <schema dir> <out-dir>\n");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
let n = 0;
for (const name of fs.readdirSync(srcDir)) {
  if (!name.endsWith(".json") || name === "all.json") continue;
  const schema = JSON.parse(fs.readFileSync(path.join(srcDir, name), "utf8"));
  delete schema.$id;
  const text = JSON.stringify(schema).replaceAll('"$ref":"/api/_definitions.json#', '"$ref":"_definitions.json#');
  fs.writeFileSync(path.join(outDir, name), text);
  n++;
}
if (!fs.existsSync(path.join(outDir, "_definitions.json")) || n < 100) throw new Error(`only ${n} schemas in ${srcDir}`);
process.stdout.write(`${n} schemas written to ${outDir}\n`);
