{{- define "clinic.otelCollectorConfig" -}}
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "0.0.0.0:4317" }
      http: { endpoint: "0.0.0.0:4318" }
processors:
  memory_limiter: { check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 20 }
  batch: {}
exporters:
  otlp:
    endpoint: {{ .endpoint | quote }}
    tls: { insecure: {{ .insecure }} }
extensions:
  health_check: { endpoint: "0.0.0.0:13133" }
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp]
{{- end -}}
