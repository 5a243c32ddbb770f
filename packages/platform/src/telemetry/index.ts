/** @clinic/platform/telemetry: OpenTelemetry tracing; imported first by every service's main. */
export { startTelemetry, type Telemetry, type TelemetryOptions } from "./telemetry";
