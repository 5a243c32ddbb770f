import type { Static, TSchema } from "@sinclair/typebox";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";

/**
 * Route types inferred from the TypeBox schemas that also validate the request. Written here
 * rather than taken from @fastify/type-provider-typebox: its 6.x line is built on the ESM-only
 * `typebox` 1.x, which jest's CommonJS runtime cannot load, while `@sinclair/typebox` 0.34 is
 * CommonJS. The provider is types only: validation is Fastify's own Ajv (see http-server.ts).
 */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this["schema"] extends TSchema ? Static<this["schema"]> : unknown;
  serializer: this["schema"] extends TSchema ? Static<this["schema"]> : unknown;
}

export type EdgeFastify = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxProvider
>;
