import { callerMetadata, type Caller } from "@clinic/platform/auth";
import type { RpcOptions } from "@clinic/platform/grpc";
import { translateGrpcError, type FieldAliases } from "./errors";

/** A method of a backend's promise client (`backends.booking.getBooking`), unbound. */
type BackendMethod<Req, Res> = (request: Req, options?: RpcOptions) => Promise<Res>;

/**
 * One gRPC call made for an HTTP request, on behalf of its caller (whose token travels along for
 * the service to check again): `rpc(request.caller, booking.getBooking, { id }, aliases)`. The
 * deadline comes from the client (GRPC_DEADLINE_MS); a failure is rethrown as an ApiError whose
 * field violations use the route's field names.
 */
export async function rpc<Req, Res>(
  caller: Caller,
  method: BackendMethod<Req, Res>,
  request: Req,
  aliases: FieldAliases = {},
): Promise<Res> {
  try {
    return await method(request, { metadata: callerMetadata(caller) });
  } catch (err) {
    throw translateGrpcError(err, aliases);
  }
}
