import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import pino, { type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Field names that hold patient contact details. They are censored wherever they appear in a
 * log object, up to three levels deep, so a handler that logs a whole request cannot leak them.
 */
const SENSITIVE_FIELDS = [
  "patientContact",
  "patient_contact",
  "patientName",
  "patient_name",
  "patientPhone",
  "patient_phone",
  "email",
  "phone",
  "password",
  "authorization",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
];

export const redactedPaths: string[] = SENSITIVE_FIELDS.flatMap((field) => [
  field,
  `*.${field}`,
  `*.*.${field}`,
  `*.*.*.${field}`,
]);

export interface LoggerSettings {
  service: string;
  level: LoggerOptions["level"];
  /** Extra fields on every line, e.g. the shard a process serves. */
  base?: Record<string, unknown>;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
  /** Per-line fields computed at log time (trace ids come from here). */
  mixin?: () => Record<string, unknown>;
}

/**
 * JSON logs, one line per event. Levels follow the operations guide: debug (development only),
 * info (business events), warn (recoverable: retries, stale cache), error (failures), fatal
 * (shutdown).
 */
export function createLogger(settings: LoggerSettings): Logger {
  // Every line logged inside a traced operation names its trace and span, so a log line leads
  // to its trace in Jaeger and back.
  const traceFields = (): Record<string, unknown> => {
    const spanContext = trace.getSpan(context.active())?.spanContext();
    return spanContext && isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
  };
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service, ...settings.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: redactedPaths, censor: "[redacted]" },
    mixin: () => ({ ...traceFields(), ...settings.mixin?.() }),
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
