/** @clinic/platform/service: A service's life: start-up frame, ordered shutdown, the gRPC host and the starter steps every service shares. */
export { openGrpcClient, type RunningGrpcService, serveGrpc } from "./grpc-service";
export { Lifecycle, runMain, SHUTDOWN_STAGES, type ShutdownStage, startOrRelease } from "./lifecycle";
export { openOwnDatabase, openOwnDatabaseWithOutbox, openOutbox } from "./service-database";
export { type MigrationTarget, runMigrationsMain, runOwnDatabaseMigrationsMain } from "./run-migrations";
export { type ServiceHost, startServiceHost } from "./service-host";
export { type ServiceContext, startService } from "./start-service";
