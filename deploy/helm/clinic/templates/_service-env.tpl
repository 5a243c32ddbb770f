{{/*
Non-secret settings of one service (its ConfigMap); call with (list $ "name"). Each service
validates them at start and names any bad one (each service's src/config.ts).
*/}}
{{- define "clinic.serviceConfig" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $chartSet := include "clinic.serviceChartConfig" . -}}
{{- $taken := keys ($chartSet | fromYaml) -}}
{{- range $e := include "clinic.serviceSecretEnv" . | fromYamlArray }}{{ $taken = append $taken $e.name }}{{ end -}}
{{- $chartSet }}
{{- /* An override of a chart-set key would be a duplicate ConfigMap key (or lose to the container's env): refuse it, naming the value that sets it. */}}
{{- range $key, $value := (get $root.Values $name).env }}
{{- if has $key $taken }}{{ fail (printf "%s.env.%s: the chart sets %s itself (from its own values); set it there" $name $key $key) }}{{ end }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The settings the chart derives from its values, without `<name>.env`; call with (list $ "name"). */}}
{{- define "clinic.serviceChartConfig" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $v := $root.Values -}}
{{- $c := get (include "clinic.components" $root | fromYaml) $name -}}
{{- $addr := dict -}}
{{- range $peer := list "doctor" "slot" "booking" "notifier" -}}
{{- $_ := set $addr $peer (printf "%s:%v" (include "clinic.name" (list $root $peer)) (get (include "clinic.components" $root | fromYaml) $peer).port) -}}
{{- end -}}
NODE_ENV: production
LOG_LEVEL: {{ $v.config.logLevel | quote }}
METRICS_PORT: {{ $c.metricsPort | int64 | quote }}
SHUTDOWN_GRACE_MS: {{ $v.config.shutdownGraceMs | int64 | quote }}
SHUTDOWN_TIMEOUT_MS: {{ $v.config.shutdownTimeoutMs | int64 | quote }}
JWT_ISSUER: {{ $v.config.jwtIssuer | quote }}
JWT_AUDIENCE: {{ $v.config.jwtAudience | quote }}
{{- if $v.otelCollector.enabled }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ printf "http://%s:4318" (include "clinic.name" (list $root "otel-collector")) | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf
TRACES_SAMPLE_RATIO: {{ $v.config.tracesSampleRatio | quote }}
{{- end }}
{{- if eq $c.protocol "grpc" }}
GRPC_HOST: 0.0.0.0
GRPC_PORT: {{ $c.port | int64 | quote }}
AUTH_JWKS_URL: {{ include "clinic.jwksUrl" $root | quote }}
{{- end }}
{{- if eq $name "booking" }}
PGUSER: {{ $v.bookingDatabase.user | quote }}
BOOKING_SHARDS: {{ include "clinic.bookingShards" $root | quote }}
{{- with include "clinic.bookingShardSessions" $root }}
{{- /* Beside BOOKING_SHARDS, these tell booking its shards are transaction-pooled (services/booking/src/app.ts). */}}
BOOKING_SHARD_SESSIONS: {{ . | quote }}
{{- end }}
SLOT_ADDR: {{ $addr.slot | quote }}
HOLD_TTL_MS: {{ $v.booking.holdTtlMs | int64 | quote }}
{{- else }}
PGHOST: {{ include "clinic.postgresHost" $root | quote }}
PGPORT: {{ include "clinic.postgresPort" $root | quote }}
PGUSER: {{ $v.postgresql.database.user | quote }}
PGDATABASE: {{ get $v.postgresql.database $name | quote }}
{{- end }}
KAFKA_BROKERS: {{ include "clinic.kafkaBrokers" $root | quote }}
{{- if eq $name "doctor" }}
BOOKING_ADDR: {{ $addr.booking | quote }}
{{- else if eq $name "slot" }}
DOCTOR_ADDR: {{ $addr.doctor | quote }}
BOOKING_ADDR: {{ $addr.booking | quote }}
{{- else if eq $name "notifier" }}
SMTP_HOST: {{ $v.notifier.smtp.host | quote }}
SMTP_PORT: {{ $v.notifier.smtp.port | int64 | quote }}
SMTP_SECURE: {{ $v.notifier.smtp.secure | quote }}
SMTP_FROM: {{ $v.notifier.smtp.from | quote }}
SMS_PROVIDER_URL: {{ $v.notifier.smsProviderUrl | quote }}
{{- else if eq $name "edge" }}
HTTP_HOST: 0.0.0.0
HTTP_PORT: {{ $c.port | int64 | quote }}
DOCTOR_ADDR: {{ $addr.doctor | quote }}
SLOT_ADDR: {{ $addr.slot | quote }}
BOOKING_ADDR: {{ $addr.booking | quote }}
NOTIFIER_ADDR: {{ $addr.notifier | quote }}
HSTS_MAX_AGE_SECONDS: {{ $v.edge.hstsMaxAgeSeconds | int64 | quote }}
{{- /* Behind the mesh the client address arrives through the ingress gateway and the sidecar. */}}
HTTP_TRUSTED_PROXY_HOPS: {{ ternary "2" "0" $v.istio.enabled | quote }}
{{- end }}
{{- end -}}

{{/* Secret settings of one service, as env entries; call with (list $ "name"). */}}
{{- define "clinic.serviceSecretEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $secret := include "clinic.secretName" $root -}}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ ternary "booking-db-password" "postgres-password" (eq $name "booking") }} }
{{- if ne $name "notifier" }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: redis-password }
- name: REDIS_URL
  value: {{ include "clinic.redisUrl" $root | quote }}
{{- end }}
{{- $optional := dict -}}
{{- if eq $name "edge" -}}
{{- $optional = dict "BOOTSTRAP_ADMIN_EMAIL" "bootstrap-admin-email" "BOOTSTRAP_ADMIN_PASSWORD" "bootstrap-admin-password" -}}
{{- else if eq $name "notifier" -}}
{{- $optional = dict "SMTP_USER" "smtp-user" "SMTP_PASSWORD" "smtp-password" "SMS_PROVIDER_TOKEN" "sms-provider-token" -}}
{{- end }}
{{- range $var := keys $optional | sortAlpha }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ get $optional $var }}, optional: true }
{{- end }}
{{- end -}}

{{/*
The database ports a service dials, comma-separated; call with (list $ "name"). With Istio its
pods' traffic to them bypasses the sidecar: the migrate init container runs before the sidecar
is up (Istio's redirect would drop its connections), and the stores run without sidecars anyway.
*/}}
{{- define "clinic.databasePorts" -}}
{{- $root := index . 0 -}}
{{- $ports := list -}}
{{- if eq (index . 1) "booking" -}}
{{- range $entry := concat (splitList "," (include "clinic.bookingShards" $root)) (splitList "," (include "clinic.bookingShardSessions" $root)) -}}
{{- with regexFind ":[0-9]+/" $entry }}{{ $ports = append $ports (trimAll ":/" .) }}{{ end -}}
{{- end -}}
{{- else -}}
{{- $ports = append $ports (include "clinic.postgresPort" $root) -}}
{{- end -}}
{{- $ports | uniq | sortAlpha | join "," -}}
{{- end -}}
