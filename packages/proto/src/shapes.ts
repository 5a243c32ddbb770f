// @clinic/proto/shapes: the schema checks run before a message is encoded. Apart from the package
// entry, which loads every generated service and so @grpc/grpc-js: the outbox uses this without
// linking gRPC.
import { descriptorSetPath } from "./descriptor-set";
import { MessageShapes } from "./message-shape";

export { MessageShapes, type ShapeCheck } from "./message-shape";
export { descriptorSetPath } from "./descriptor-set";

/** The shapes of every message in the repo's protos, read once per process. */
let shapes: MessageShapes | undefined;
export function messageShapes(): MessageShapes {
  shapes ??= MessageShapes.fromFile(descriptorSetPath);
  return shapes;
}

/** A message that would be encoded wrong (a missing or mistyped field); says which and where. */
export class MalformedMessageError extends Error {
  constructor(subject: string, problem: string) {
    super(`${subject} is malformed: ${problem} (build messages with <Message>.fromPartial or create)`);
    this.name = "MalformedMessageError";
  }
}

/** What encodes a message: a ts-proto generated message type, e.g. `eventsV1.SlotEvent`. */
export interface MessageEncoder<M> {
  encode(message: M): { finish(): Uint8Array };
}

/**
 * Encodes `message` of the proto type `typeName` (`clinic.events.v1.SlotEvent`) with its
 * generated `codec`, after checking it against the schema: throws MalformedMessageError naming
 * the field instead of encoding a missing string as "undefined". An unknown type name throws
 * too, so a typo cannot turn the check off.
 */
export function encodeChecked<M>(typeName: string, codec: MessageEncoder<M>, message: M): Uint8Array {
  const check = messageShapes().forType(typeName);
  if (!check) throw new Error(`no proto message type ${typeName} (see proto/)`);
  const problem = check(message);
  if (problem) throw new MalformedMessageError(typeName, problem);
  return codec.encode(message).finish();
}
