{{/* Names: the release name, or "<release>-clinic" when the release name does not say clinic. */}}
{{- define "clinic.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>"; call with (list $ "component"). */}}
{{- define "clinic.name" -}}
{{- printf "%s-%s" (include "clinic.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{- define "clinic.chartLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clinic
{{- end -}}

{{/* Selector labels of a component; call with (list $ "component"). `app` is the label Istio's telemetry reads. */}}
{{- define "clinic.selectorLabels" -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end -}}

{{- define "clinic.labels" -}}
{{ include "clinic.chartLabels" (index . 0) }}
{{ include "clinic.selectorLabels" . }}
app: {{ index . 1 }}
{{- end -}}

{{- define "clinic.secretName" -}}
{{- default (include "clinic.name" (list . "secrets")) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* A service's image; call with (list $ "booking" $.Values.booking.image). */}}
{{- define "clinic.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 2 -}}
{{- $repo := default (printf "%s/%s" $root.Values.image.registry (index . 1)) $image.repository -}}
{{- printf "%s:%s" $repo (default (default $root.Chart.AppVersion $root.Values.image.tag) $image.tag) -}}
{{- end -}}

{{- define "clinic.storeImage" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* Pod and container security: non-root, read-only root, no privileges. */}}
{{- define "clinic.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "clinic.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Spread a component's pods over zones and nodes; call with (list $ "component"). */}}
{{- define "clinic.topologySpread" -}}
{{- $root := index . 0 -}}
{{- $t := $root.Values.topologySpread -}}
{{- if $t.enabled -}}
topologySpreadConstraints:
{{- range $key := list $t.zoneKey $t.hostKey }}
  - maxSkew: {{ $t.maxSkew }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $t.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "clinic.selectorLabels" (list $root (index $ 1)) | nindent 8 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Addresses of the data stores, in the cluster or external. */}}
{{- define "clinic.postgresHost" -}}
{{- if .Values.postgresql.external.enabled -}}
{{- required "postgresql.external.host is required when postgresql.external.enabled" .Values.postgresql.external.host -}}
{{- else -}}
{{- include "clinic.name" (list . "postgresql") -}}
{{- end -}}
{{- end -}}

{{- define "clinic.postgresPort" -}}
{{- if .Values.postgresql.external.enabled -}}{{ .Values.postgresql.external.port }}{{- else -}}5432{{- end -}}
{{- end -}}

{{- define "clinic.kafkaBrokers" -}}
{{- if .Values.kafka.external.enabled -}}
{{- if not .Values.kafka.external.brokers -}}{{- fail "kafka.external.brokers is required when kafka.external.enabled" -}}{{- end -}}
{{- join "," .Values.kafka.external.brokers -}}
{{- else -}}
{{- $root := . -}}
{{- $brokers := list -}}
{{- range $i := until (int .Values.kafka.replicas) -}}
{{- $brokers = append $brokers (printf "%s-%d.%s.%s.svc:9092" (include "clinic.name" (list $root "kafka")) $i (include "clinic.name" (list $root "kafka-headless")) $root.Release.Namespace) -}}
{{- end -}}
{{- join "," $brokers -}}
{{- end -}}
{{- end -}}

{{/* REDIS_URL, with $(REDIS_PASSWORD) expanded by the kubelet from the variable set before it. */}}
{{- define "clinic.redisUrl" -}}
{{- if .Values.redis.external.enabled -}}
{{- printf "%s://:$(REDIS_PASSWORD)@%s:%v" (ternary "rediss" "redis" .Values.redis.external.tls) (required "redis.external.host is required when redis.external.enabled" .Values.redis.external.host) .Values.redis.external.port -}}
{{- else -}}
{{- printf "redis://:$(REDIS_PASSWORD)@%s:6379" (include "clinic.name" (list . "redis")) -}}
{{- end -}}
{{- end -}}

{{/*
Whether booking's transactions go through the chart's PgBouncer: only in front of the chart's own
Patroni clusters (external shards come with their own pooler, if any: bookingDatabase.external.sessionShards).
*/}}
{{- define "clinic.pgbouncerEnabled" -}}
{{- if and .Values.pgbouncer.enabled (not .Values.bookingDatabase.external.enabled) -}}true{{- end -}}
{{- end -}}

{{/* Each shard's primary: its leader Service (port 5432); call with (list $ shard). */}}
{{- define "clinic.shardLeader" -}}
{{- include "clinic.name" (list (index . 0) (printf "booking-db-%d" (int (index . 1)))) -}}
{{- end -}}

{{/* Each shard's PgBouncer Service (port 6432); call with (list $ shard). */}}
{{- define "clinic.shardPooler" -}}
{{- printf "%s-pgbouncer" (include "clinic.shardLeader" .) -}}
{{- end -}}

{{/*
BOOKING_SHARDS: each shard's PgBouncer when pooled (the booking transactions), otherwise its
leader Service; or the external shards.
*/}}
{{- define "clinic.bookingShards" -}}
{{- if .Values.bookingDatabase.external.enabled -}}
{{- if not .Values.bookingDatabase.external.shards -}}{{- fail "bookingDatabase.external.shards is required when bookingDatabase.external.enabled" -}}{{- end -}}
{{- join "," .Values.bookingDatabase.external.shards -}}
{{- else -}}
{{- $root := . -}}
{{- $pooled := include "clinic.pgbouncerEnabled" . -}}
{{- $shards := list -}}
{{- range $i := until (int .Values.bookingDatabase.shards) -}}
{{- if $pooled -}}
{{- $shards = append $shards (printf "%s:6432/%s" (include "clinic.shardPooler" (list $root $i)) $root.Values.bookingDatabase.database) -}}
{{- else -}}
{{- $shards = append $shards (printf "%s:5432/%s" (include "clinic.shardLeader" (list $root $i)) $root.Values.bookingDatabase.database) -}}
{{- end -}}
{{- end -}}
{{- join "," $shards -}}
{{- end -}}
{{- end -}}

{{/*
BOOKING_SHARD_SESSIONS: each shard's direct primary address when BOOKING_SHARDS is a transaction
pooler's, as the local stack does (scripts/stack.d/booking.sh): the outbox relay's LISTEN, the
migrations and partition upkeep need a session of their own. Empty: BOOKING_SHARDS is direct.
*/}}
{{- define "clinic.bookingShardSessions" -}}
{{- if .Values.bookingDatabase.external.enabled -}}
{{- $sessions := .Values.bookingDatabase.external.sessionShards -}}
{{- if and $sessions (ne (len $sessions) (len .Values.bookingDatabase.external.shards)) -}}
{{- fail "bookingDatabase.external.sessionShards needs one direct address per entry of bookingDatabase.external.shards, or none" -}}
{{- end -}}
{{- join "," $sessions -}}
{{- else if include "clinic.pgbouncerEnabled" . -}}
{{- $root := . -}}
{{- $sessions := list -}}
{{- range $i := until (int .Values.bookingDatabase.shards) -}}
{{- $sessions = append $sessions (printf "%s:5432/%s" (include "clinic.shardLeader" (list $root $i)) $root.Values.bookingDatabase.database) -}}
{{- end -}}
{{- join "," $sessions -}}
{{- end -}}
{{- end -}}

{{/*
Data directories, named once: the Patroni members' and the services' PostgreSQL's own settings,
their archive_command and the backup configuration all read them from here, so pgBackRest's
pg1-path can never differ from the directory PostgreSQL runs in.
*/}}
{{- define "clinic.patroniDataDir" -}}/home/postgres/pgdata/pgroot/data{{- end -}}
{{- define "clinic.postgresDataDir" -}}/var/lib/postgresql/data/pgdata{{- end -}}

{{- define "clinic.jwksUrl" -}}
{{- printf "http://%s.%s.svc:8080/.well-known/jwks.json" (include "clinic.name" (list . "edge")) .Release.Namespace -}}
{{- end -}}

{{/* A Service's fully qualified name, `<name>.<namespace>.svc.<clusterDomain>`; call with (list $ "component"). */}}
{{- define "clinic.serviceFqdn" -}}
{{- $root := index . 0 -}}
{{- printf "%s.%s.svc.%s" (include "clinic.name" .) $root.Release.Namespace $root.Values.clusterDomain -}}
{{- end -}}

{{/* The ServiceAccount principal of a component in the mesh; call with (list $ "component"). */}}
{{- define "clinic.principal" -}}
{{- $root := index . 0 -}}
{{- printf "%s/ns/%s/sa/%s" $root.Values.istio.trustDomain $root.Release.Namespace (include "clinic.name" .) -}}
{{- end -}}
