{{/*
pgBackRest, as the local stack runs it (scripts/stack.d/pgbackrest.sh), laid out for pods:

- every database pod runs PostgreSQL with archive_command `pgbackrest archive-push`, and a
  `pgbackrest server` sidecar (TLS, client certificates) sharing its data directory and socket,
  through which the backup jobs reach that member: a backup from a standby needs the primary
  (start and stop) and the standby (the files) at once, and pgBackRest reaches a PostgreSQL on
  another host only through a pgBackRest there;
- the backup jobs are the repository side: they hold the repository (S3, or the posix volume of
  the repository host, on whose node they run) and connect to the members listed in their stanza;
- with a posix repository, the repository host (`pgbackrest server` holding the volume) receives
  the members' WAL over TLS; with S3, every member pushes to the bucket itself.
Two configuration files follow: db.conf for the database pods, repo.conf for the repository side.
*/}}

{{/*
The stanzas of the in-cluster databases, as JSON: [{name, dataDir, hosts}], `hosts` being the
address of each member's pgBackRest server, in member order.
*/}}
{{- define "clinic.backupStanzas" -}}
{{- $root := . -}}
{{- $stanzas := list -}}
{{- if .Values.backup.enabled -}}
{{- if not .Values.postgresql.external.enabled -}}
{{- $host := printf "%s.%s.svc" (include "clinic.name" (list . "postgresql")) .Release.Namespace -}}
{{- $stanzas = append $stanzas (dict "name" "services" "dataDir" (include "clinic.postgresDataDir" .) "hosts" (list $host)) -}}
{{- end -}}
{{- if not .Values.bookingDatabase.external.enabled -}}
{{- range $i := until (int .Values.bookingDatabase.shards) -}}
{{- $scope := include "clinic.shardLeader" (list $root $i) -}}
{{- $hosts := list -}}
{{- range $m := until (int $root.Values.patroni.replicas) -}}
{{- /* The pod's name under the StatefulSet's headless `-config` Service. */ -}}
{{- $hosts = append $hosts (printf "%s-%d.%s-config.%s.svc" $scope $m $scope $root.Release.Namespace) -}}
{{- end -}}
{{- $stanzas = append $stanzas (dict "name" (include "clinic.shardStanza" $i) "dataDir" (include "clinic.patroniDataDir" $root) "hosts" $hosts) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $stanzas -}}
{{- end -}}

{{/* A booking shard's stanza, as locally (scripts/stack.d/pgbackrest/archive.sh). */}}
{{- define "clinic.shardStanza" -}}booking-{{ . }}{{- end -}}

{{- define "clinic.backupImage" -}}
{{- $i := .Values.backup.image -}}
{{- printf "%s:%s" (default .Values.patroni.image.repository $i.repository) (default .Values.patroni.image.tag $i.tag) -}}
{{- end -}}

{{- define "clinic.backupTlsSecret" -}}
{{- default (include "clinic.name" (list . "pgbackrest-tls")) .Values.backup.tls.existingSecret -}}
{{- end -}}

{{- define "clinic.backupRepoHost" -}}
{{- printf "%s.%s.svc" (include "clinic.name" (list . "pgbackrest")) .Release.Namespace -}}
{{- end -}}

{{/*
archive_command of a database; call with (list stanza dataDir). The data directory is named on
the command line because PostgreSQL passes %p relative to it and pgBackRest resolves it against
pg1-path, refusing a path outside it (see scripts/stack.d/pgbackrest/archive.sh).
*/}}
{{- define "clinic.archiveCommand" -}}
{{- printf "pgbackrest --stanza=%s --pg1-path=%s archive-push %%p" (index . 0) (index . 1) -}}
{{- end -}}

{{/* The repository's location, shared by both sides when they reach it directly. */}}
{{- define "clinic.pgbackrestRepo" -}}
{{- $r := .Values.backup.repo -}}
{{- if eq $r.type "s3" -}}
repo1-type=s3
repo1-path={{ $r.s3.path }}
repo1-s3-bucket={{ required "backup.repo.s3.bucket is required with backup.repo.type s3" $r.s3.bucket }}
repo1-s3-endpoint={{ required "backup.repo.s3.endpoint is required with backup.repo.type s3" $r.s3.endpoint }}
repo1-s3-region={{ required "backup.repo.s3.region is required with backup.repo.type s3" $r.s3.region }}
repo1-s3-uri-style={{ $r.s3.uriStyle }}
repo1-storage-verify-tls={{ ternary "y" "n" $r.s3.verifyTls }}
# repo1-s3-key and repo1-s3-key-secret: PGBACKREST_REPO1_S3_KEY and _KEY_SECRET, from the Secret.
{{- else -}}
# The volume's root (where it is mounted on the repository side).
repo1-path=/pgbackrest/repo
{{- end }}
{{- end -}}

{{- define "clinic.pgbackrestCipher" -}}
repo1-cipher-type=aes-256-cbc
# repo1-cipher-pass: PGBACKREST_REPO1_CIPHER_PASS, from the Secret, never in this file.
{{- end -}}

{{/* The TLS server of a pgBackRest host: any stanza for the one client certificate. */}}
{{- define "clinic.pgbackrestServer" -}}
[global:server]
# IPv4: pgBackRest listens on one address only.
tls-server-address=0.0.0.0
tls-server-auth={{ .Values.backup.tls.clientCommonName }}=*
tls-server-ca-file=/etc/pgbackrest/tls/ca.crt
tls-server-cert-file=/etc/pgbackrest/tls/tls.crt
tls-server-key-file=/etc/pgbackrest/tls/tls.key
log-level-console=info
{{- end -}}

{{- define "clinic.pgbackrestDbConf" -}}
{{- $stanzas := include "clinic.backupStanzas" . | fromJsonArray -}}
# pgBackRest on the database pods: archive_command (archive-push), a restore, and the TLS server
# the backup jobs reach this member through.
[global]
{{- if eq .Values.backup.repo.type "s3" }}
{{ include "clinic.pgbackrestRepo" . }}
{{ include "clinic.pgbackrestCipher" . }}
{{- else }}
# The repository host holds the repository and its key (pgBackRest fetches the cipher settings
# from it): WAL goes there over TLS.
repo1-host={{ include "clinic.backupRepoHost" . }}
repo1-host-type=tls
repo1-host-ca-file=/etc/pgbackrest/tls/ca.crt
repo1-host-cert-file=/etc/pgbackrest/tls/tls.crt
repo1-host-key-file=/etc/pgbackrest/tls/tls.key
{{ include "clinic.pgbackrestRepo" . }}
{{- end }}
# Messages go to PostgreSQL's log and the container's: the root file system is read-only.
log-level-file=off
lock-path=/tmp/pgbackrest

{{ include "clinic.pgbackrestServer" . }}
{{- range $s := $stanzas }}

[{{ $s.name }}]
pg1-path={{ $s.dataDir }}
pg1-socket-path=/var/run/postgresql
pg1-port=5432
{{- end }}
{{- end -}}

{{- define "clinic.pgbackrestRepoConf" -}}
{{- $stanzas := include "clinic.backupStanzas" . | fromJsonArray -}}
# pgBackRest on the repository side: the backup jobs{{ if eq .Values.backup.repo.type "posix" }} and the repository host's TLS server{{ end }}.
[global]
{{ include "clinic.pgbackrestRepo" . }}
{{ include "clinic.pgbackrestCipher" . }}
# Time-based: full backups younger than this are kept, with every WAL segment needed to restore
# to any moment since the oldest of them.
repo1-retention-full-type=time
repo1-retention-full={{ .Values.backup.repo.retentionFullDays }}
compress-type=lz4
# A backup starts with an immediate checkpoint instead of waiting for the next one.
start-fast=y
log-level-console=info
log-level-file=off
lock-path=/tmp/pgbackrest
{{- if eq .Values.backup.repo.type "posix" }}

{{ include "clinic.pgbackrestServer" . }}
{{- end }}
{{- range $s := $stanzas }}

[{{ $s.name }}]
{{- range $i, $host := $s.hosts }}
{{- $n := add1 $i }}
pg{{ $n }}-host={{ $host }}
pg{{ $n }}-host-type=tls
pg{{ $n }}-host-ca-file=/etc/pgbackrest/tls/ca.crt
pg{{ $n }}-host-cert-file=/etc/pgbackrest/tls/tls.crt
pg{{ $n }}-host-key-file=/etc/pgbackrest/tls/tls.key
pg{{ $n }}-path={{ $s.dataDir }}
pg{{ $n }}-socket-path=/var/run/postgresql
pg{{ $n }}-port=5432
{{- end }}
{{- if gt (len $s.hosts) 1 }}
# Copy the files from a standby; the primary only runs pg_backup_start/stop.
backup-standby=y
{{- end }}
{{- end }}
{{- end -}}

{{/*
The repository's secrets as env entries; call with (list $ "db"|"repo"). pgBackRest reads any
option from PGBACKREST_<OPTION>, which keeps the keys out of the ConfigMap. A database pod needs
them only when it reaches an S3 repository itself (a repository host hands out its cipher
settings).
*/}}
{{- define "clinic.backupSecretEnv" -}}
{{- $root := index . 0 -}}
{{- $s3 := eq $root.Values.backup.repo.type "s3" -}}
{{- $secret := include "clinic.secretName" $root -}}
{{- if or (eq (index . 1) "repo") $s3 }}
- name: PGBACKREST_REPO1_CIPHER_PASS
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: backup-cipher-pass } }
{{- end }}
{{- if $s3 }}
- name: PGBACKREST_REPO1_S3_KEY
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: backup-s3-key } }
- name: PGBACKREST_REPO1_S3_KEY_SECRET
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: backup-s3-key-secret } }
{{- end }}
{{- end -}}

{{/*
/etc/pgbackrest: a configuration file (db.conf or repo.conf, as pgbackrest.conf, pgBackRest's
default path) and the TLS certificate; call with (list $ "db.conf"|"repo.conf"). The key is
root-owned and group-readable (0640), the one mode pgBackRest accepts for a file it does not own.
*/}}
{{- define "clinic.pgbackrestVolume" -}}
{{- $root := index . 0 -}}
{{- $script := ternary "backup.sh" "restore.sh" (eq (index . 1) "repo.conf") -}}
- name: pgbackrest
  projected:
    sources:
      - configMap:
          name: {{ include "clinic.name" (list $root "pgbackrest") }}
          items:
            - { key: {{ index . 1 }}, path: pgbackrest.conf }
            - { key: {{ $script }}, path: {{ $script }} }
      - secret:
          name: {{ include "clinic.backupTlsSecret" $root }}
          items:
            - { key: ca.crt, path: tls/ca.crt }
            - { key: tls.crt, path: tls/tls.crt }
            - { key: tls.key, path: tls/tls.key, mode: 416 }  # 0640: YAML 1.2 readers take a leading 0 as decimal
{{- end -}}

{{/*
The pgBackRest server beside a database, the backup jobs' way to this member; call with
(list $ "<data volume>" "<its mount path>").
*/}}
{{- define "clinic.pgbackrestSidecar" -}}
{{- $root := index . 0 -}}
- name: pgbackrest
  image: {{ include "clinic.backupImage" $root }}
  command: [pgbackrest, server]
  {{- with include "clinic.backupSecretEnv" (list $root "db") | trim }}
  # The same configuration as the database's own pgBackRest, so the same secrets.
  env:
    {{- . | nindent 4 }}
  {{- end }}
  ports:
    - { name: tcp-pgbackrest, containerPort: 8432 }
  readinessProbe:
    tcpSocket: { port: tcp-pgbackrest }
    periodSeconds: 10
  livenessProbe:
    tcpSocket: { port: tcp-pgbackrest }
    periodSeconds: 20
    failureThreshold: 3
  resources:
    {{- toYaml $root.Values.backup.resources | nindent 4 }}
  securityContext:
    {{- include "clinic.containerSecurityContext" $root | nindent 4 }}
  volumeMounts:
    # The member's files (a backup reads them) and its socket (pg_backup_start/stop).
    - { name: {{ index . 1 }}, mountPath: {{ index . 2 }} }
    - { name: run, mountPath: /var/run/postgresql }
    - { name: pgbackrest, mountPath: /etc/pgbackrest, readOnly: true }
    - { name: tmp, mountPath: /tmp }
{{- end -}}

{{/*
postgres_exporter beside a database, over the local socket as `postgres` (local connections are
trusted in the pod, so it needs no password).
*/}}
{{- define "clinic.postgresExporterSidecar" -}}
{{- $e := .Values.monitoring.postgresExporter -}}
- name: metrics
  image: {{ include "clinic.storeImage" $e.image }}
  args: [--web.listen-address=:9187]
  env:
    - { name: DATA_SOURCE_NAME, value: "host=/var/run/postgresql user=postgres dbname=postgres sslmode=disable" }
  ports:
    - { name: http-metrics, containerPort: 9187 }
  # The port, not /metrics: a scrape queries the database, a probe need not.
  readinessProbe:
    tcpSocket: { port: http-metrics }
    periodSeconds: 10
  livenessProbe:
    tcpSocket: { port: http-metrics }
    periodSeconds: 20
    failureThreshold: 3
  resources:
    {{- toYaml $e.resources | nindent 4 }}
  securityContext:
    {{- include "clinic.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - { name: run, mountPath: /var/run/postgresql }
{{- end -}}

{{/*
The pod of a backup job (the scheduled backups, the stanza creation), on the repository side;
call with (list $ restartPolicy command).
*/}}
{{- define "clinic.backupJobPod" -}}
{{- $root := index . 0 -}}
{{- $b := $root.Values.backup -}}
metadata:
  labels:
    {{- include "clinic.labels" (list $root "backup") | nindent 4 }}
    # A sidecar would keep the Job's pod running after the backup.
    sidecar.istio.io/inject: "false"
spec:
  restartPolicy: {{ index . 1 }}
  serviceAccountName: {{ include "clinic.name" (list $root "pgbackrest") }}
  automountServiceAccountToken: false
  securityContext:
    {{- include "clinic.podSecurityContext" (dict "uid" 999) | nindent 4 }}
  {{- if eq $b.repo.type "posix" }}
  # The repository's volume is ReadWriteOnce: the job runs on the repository host's node.
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "clinic.selectorLabels" (list $root "pgbackrest") | nindent 14 }}
  {{- end }}
  containers:
    - name: pgbackrest
      image: {{ include "clinic.backupImage" $root }}
      command:
        {{- toYaml (index . 2) | nindent 8 }}
      env:
        - { name: FULL_HOUR, value: {{ index (splitList ":" $b.schedule.fullAt) 0 | quote }} }
        {{- include "clinic.backupSecretEnv" (list $root "repo") | trim | nindent 8 }}
      resources:
        {{- toYaml $b.resources | nindent 8 }}
      securityContext:
        {{- include "clinic.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        - { name: pgbackrest, mountPath: /etc/pgbackrest, readOnly: true }
        - { name: tmp, mountPath: /tmp }
        {{- if eq $b.repo.type "posix" }}
        - { name: repo, mountPath: /pgbackrest/repo }
        {{- end }}
  volumes:
    {{- include "clinic.pgbackrestVolume" (list $root "repo.conf") | nindent 4 }}
    - { name: tmp, emptyDir: {} }
    {{- if eq $b.repo.type "posix" }}
    # The repository host's claim (its StatefulSet's volumeClaimTemplate `repo`, pod 0).
    - name: repo
      persistentVolumeClaim: { claimName: {{ printf "repo-%s-0" (include "clinic.name" (list $root "pgbackrest")) }} }
    {{- end }}
{{- end -}}
