// What every integration test uses, by concern; see each module's own comment.

// The test stack (scripts/test) and what lives on it.
export * from "./stack-env";
export * from "./scratch-database";
export * from "./free-port";
export * from "./eventually";
export * from "./log-recorder";
export * from "./time";
export * from "./metrics";

// Identities and tokens.
export * from "./test-issuer";
export * from "./file-issuer";

// Services in this process: one at a time, the edge alone, or the whole platform.
export * from "./service-starters";
export * from "./edge-alone";
export * from "./platform-stack";
export * from "./grpc-clients";
export * from "./http-client";
export * from "./fixtures";
export * from "./migrations-test";
export * from "./stop-in-order";

// Fakes of the outside world and of outages.
export * from "./smtp-server";
export * from "./sms-provider";
export * from "./redis-server";
export * from "./redis-outage";
export * from "./notifier-kafka";
export * from "./notifier-env";
export * from "./booking-events";

// The platform as processes, its live streams, and a browser.
export * from "./platform-processes";
export * from "./private-kafka";
export * from "./sse-client";
export * from "./browser";
export * from "./accessibility";
