// Tracing bootstrap. This module is its own entry point (`@clinic/platform/telemetry`) and
// imports nothing but OpenTelemetry: it must run before gRPC, pg, ioredis, kafkajs and http are
// first required, or their instrumentation cannot patch them. Each service's `src/main.ts`
// imports `./tracing` first for that reason.
import { diag, DiagConsoleLogger, DiagLogLevel } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { KafkaJsInstrumentation } from "@opentelemetry/instrumentation-kafkajs";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";

export interface TelemetryOptions {
  /** service.name, e.g. "booking". */
  service: string;
  /** Extra resource attributes, e.g. the shards a booking process serves. */
  attributes?: Record<string, string | number>;
  /**
   * Instrument kafkajs consumers (the notifier). Producers publish from outbox relays, which
   * carry each event's own trace context themselves; the kafkajs producer instrumentation would
   * replace it with the relay's.
   */
  kafkaConsumer?: boolean;
}

export interface Telemetry {
  /** Flushes spans still buffered; the last step of a shutdown. */
  shutdown(): Promise<void>;
}

/** Probes and scrapes are not traffic: tracing them would drown the traces that matter. */
const UNTRACED_PATHS = ["/metrics", "/healthz", "/readyz"];

function sampleRatio(): number {
  const raw = process.env["TRACES_SAMPLE_RATIO"];
  if (raw === undefined || raw === "") return 1;
  const ratio = Number(raw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    process.stderr.write(`TRACES_SAMPLE_RATIO must be a number from 0 to 1, got "${raw}"\n`);
    process.exit(78);
  }
  return ratio;
}

/** Where spans go: OTLP/HTTP (Jaeger, a collector) and Zipkin, each only when configured. */
function spanExporters(): SpanExporter[] {
  const exporters: SpanExporter[] = [];
  if (process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] || process.env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
    exporters.push(new OTLPTraceExporter());
  }
  // Zipkin's v2 JSON API (the local stack's trace UI); the exporter reads the URL from the env.
  if (process.env["OTEL_EXPORTER_ZIPKIN_ENDPOINT"]) exporters.push(new ZipkinExporter());
  return exporters;
}

/** Paths of the exporters' own requests: they are not part of any request's trace. */
const EXPORT_PATHS = ["/v1/traces", "/api/v2/spans"];

/**
 * Starts the OpenTelemetry SDK. Spans are exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and to Zipkin when
 * OTEL_EXPORTER_ZIPKIN_ENDPOINT is set (both at once is fine: each has its own batch); with
 * neither, trace context still flows (log lines carry trace ids, Kafka headers carry traceparent)
 * but nothing is exported and not even recorded. Sampling: parent-based, TRACES_SAMPLE_RATIO of
 * new traces (default 1).
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (process.env["OTEL_LOG_LEVEL"] === "debug") diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.DEBUG);
  const spanProcessors: SpanProcessor[] = spanExporters().map((exporter) => new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 }));
  const exporting = spanProcessors.length > 0;
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      [ATTR_SERVICE_VERSION]: process.env["SERVICE_VERSION"] ?? "0.1.0",
      "deployment.environment.name": process.env["NODE_ENV"] ?? "development",
      ...options.attributes,
    }),
    // With nowhere to export, spans are not recorded at all (recording costs CPU on the booking
    // path); their ids still exist, so log lines and Kafka headers keep carrying trace context.
    sampler: new ParentBasedSampler({ root: exporting ? new TraceIdRatioBasedSampler(sampleRatio()) : new AlwaysOffSampler() }),
    spanProcessors,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.includes((request.url ?? "").split("?")[0] ?? ""),
        ignoreOutgoingRequestHook: (request) => EXPORT_PATHS.some((p) => String(request.path ?? "").startsWith(p)),
      }),
      new GrpcInstrumentation({ ignoreGrpcMethods: [/^Check$/, /^Watch$/, /ServerReflectionInfo/] }),
      new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      ...(options.kafkaConsumer ? [new KafkaJsInstrumentation()] : []),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
