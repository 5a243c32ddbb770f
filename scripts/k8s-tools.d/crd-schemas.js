// Writes the JSON schemas of CustomResourceDefinitions in kubeconform's layout
// (<dir>/<group>/<kind>_<version>.json, lower-case kind), from each served version's
// openAPIV3Schema. Strict like the Kubernetes schemas: an object that lists its properties and
// does not say otherwise gets additionalProperties: false, so an unknown field fails.
//
// usage: node crd-schemas.js <out-dir> <crds.yaml>...
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const YAML = require("yaml");

function strict(schema) {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    // Property names are data, not schema keywords: recurse into their schemas only.
    if (key === "properties" || key === "patternProperties" || key === "definitions") {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strict(v)]));
    } else {
      out[key] = strict(value);
    }
  }
  if (
    out.properties &&
    out.additionalProperties === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  process.stderr.write("usage: node crd-schemas.js <out-dir> <crds.yaml>...\n");
  process.exit(2);
}
let written = 0;
for (const file of files) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    const crd = doc.toJS();
    if (!crd || crd.kind !== "CustomResourceDefinition") continue;
    const { group, names, versions } = crd.spec;
    for (const version of versions) {
      const schema = version.schema && version.schema.openAPIV3Schema;
      if (!schema) throw new Error(`${crd.metadata.name} ${version.name}: no openAPIV3Schema`);
      const root = strict(schema);
      // Istio's CRDs leave metadata out of the schema; the API server validates it as ObjectMeta.
      root.properties = { metadata: { type: "object" }, ...root.properties };
      // apiVersion and kind must be exactly this resource's.
      root.properties = {
        ...root.properties,
        apiVersion: { type: "string", enum: [`${group}/${version.name}`] },
        kind: { type: "string", enum: [names.kind] },
      };
      const target = path.join(outDir, group, `${names.kind.toLowerCase()}_${version.name}.json`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, JSON.stringify(root, null, 1));
      written++;
    }
  }
}
if (written === 0) throw new Error("no CustomResourceDefinition versions found");
process.stdout.write(`${written} schemas written to ${outDir}\n`);
