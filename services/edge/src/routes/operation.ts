import type { FastifyRequest, FastifySchema } from "fastify";
import type { Access } from "../access";

/** What the OpenAPI document says of an operation besides its schemas. */
interface OperationSchema extends FastifySchema {
  operationId: string;
  summary: string;
  description?: string;
  /** Replaces the route file's tags, e.g. `[...tags, "admin"]`. */
  tags?: string[];
}

/**
 * A route's options: who may call it (see access.ts) and its operation in the OpenAPI document,
 * under the route file's tags. `schema` keeps its literal type, so Fastify's type provider
 * still types the request from it.
 */
export function operation<S extends OperationSchema>(
  tags: string[],
  rule: Access,
  schema: S,
  hooks: { preValidation?: (request: FastifyRequest) => Promise<void> } = {},
) {
  return { ...hooks, config: { access: rule }, schema: { tags, ...schema } };
}
