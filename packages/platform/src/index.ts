/**
 * Temporary root entry: everything the concern subpaths export, for imports not yet moved to
 * `@clinic/platform/<concern>` (tools/codemods/platform-subpaths.mjs moves them). Loading it loads
 * every concern's third-party packages; import the subpath instead. Telemetry was never part of
 * it: it is loaded first, on its own, by each service's main.
 */
export * from "./config/index";
export * from "./logging/index";
export * from "./errors/index";
export * from "./metrics/index";
export * from "./grpc/index";
export * from "./db/index";
export * from "./kafka/index";
export * from "./outbox/index";
export * from "./redis/index";
export * from "./cache/index";
export * from "./auth/index";
export * from "./service/index";
export * from "./single-flight/index";
