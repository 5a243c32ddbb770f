import type { FastifyRequest } from "fastify";

interface PropertySchema {
  type?: string;
  items?: PropertySchema;
}

const INTEGER = /^-?(0|[1-9][0-9]{0,14})$/;

function coerceScalar(value: string, schema: PropertySchema | undefined): unknown {
  if ((schema?.type === "integer" || schema?.type === "number") && INTEGER.test(value)) return Number(value);
  if (schema?.type === "boolean" && (value === "true" || value === "false")) return value === "true";
  return value;
}

/**
 * Query strings arrive as text. Ajv runs with `coerceTypes: false` so a JSON body's `"5"` is
 * never silently taken for `5`; query parameters get their types here instead, narrowly and by
 * the route's own schema: whole numbers for integer parameters, and a single or comma-separated
 * value for array parameters (`ids=a&ids=b` and `ids=a,b` mean the same). Anything that does
 * not convert is left as it was for the schema to refuse.
 */
export function coerceQuery(request: FastifyRequest): void {
  const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, PropertySchema> } | undefined;
  const properties = schema?.properties;
  const query = request.query as Record<string, unknown> | undefined;
  if (!properties || !query || typeof query !== "object") return;
  for (const [name, value] of Object.entries(query)) {
    const property = properties[name];
    if (!property) continue;
    if (property.type === "array") {
      const items = (Array.isArray(value) ? value : [value]).flatMap((v) =>
        typeof v === "string" ? v.split(",") : [v],
      );
      query[name] = items.map((v) => (typeof v === "string" ? coerceScalar(v, property.items) : v));
    } else if (typeof value === "string") {
      query[name] = coerceScalar(value, property);
    }
  }
}
