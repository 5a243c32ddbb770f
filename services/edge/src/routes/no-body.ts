import type { FastifyRequest } from "fastify";
import { ApiError } from "../errors";

/**
 * For POST operations that take no body (confirm, cancel, replay): one sent anyway
 * (`{"reason": ...}`) is refused, not ignored.
 */
export async function refuseBody(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  if (body === undefined || body === null) return;
  if (typeof body === "object" && !Array.isArray(body) && Object.keys(body).length === 0) return;
  throw new ApiError(400, "VALIDATION_FAILED", "this operation takes no body", [{ field: "body", message: "must be empty" }]);
}
