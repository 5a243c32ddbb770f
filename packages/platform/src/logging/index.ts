/** @clinic/platform/logging: Structured JSON logs (pino) carrying the active trace's ids. */
export { createLogger, type Logger, type LoggerSettings, redactedPaths } from "./logger";
