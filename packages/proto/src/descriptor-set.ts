import * as path from "node:path";

/**
 * The FileDescriptorSet of every proto in the repo (`buf build`), used for gRPC server reflection
 * so grpcurl and SRE tooling can discover the services without the .proto files, and for the
 * message shape checks (./shapes).
 */
export const descriptorSetPath = path.join(__dirname, "..", "descriptor.binpb");
