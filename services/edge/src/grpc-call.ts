import { callerMetadata, unary, type Caller } from "@clinic/platform";
import type { Metadata, CallOptions, ClientUnaryCall, ServiceError } from "@grpc/grpc-js";
import { translateGrpcError, type FieldAliases } from "./errors";

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * One gRPC call made for an HTTP request, on behalf of its caller (whose token travels along for
 * the service to check again). The deadline comes from the client (GRPC_DEADLINE_MS); a failure
 * is rethrown as an ApiError whose field violations use the route's field names.
 */
export async function rpc<Req, Res>(
  caller: Caller,
  method: UnaryMethod<Req, Res>,
  request: Req,
  aliases: FieldAliases = {},
): Promise<Res> {
  try {
    return await unary(method, request, callerMetadata(caller));
  } catch (err) {
    throw translateGrpcError(err, aliases);
  }
}
