{{/*
patroni.yml of one shard's members; call with (list $ shard). The cluster-wide settings are
bootstrap-time (Patroni keeps them in the DCS afterwards); `postgresql` is each member's own,
read again on every start.
*/}}
{{- define "clinic.patroniConfig" -}}
{{- $root := index . 0 -}}
{{- $shard := int (index . 1) -}}
{{- $p := $root.Values.patroni -}}
{{- $backup := include "clinic.backupStanzas" $root | fromJsonArray -}}
{{- $stanza := include "clinic.shardStanza" $shard -}}
{{- $dataDir := include "clinic.patroniDataDir" $root -}}
{{- $restoreShards := list -}}
{{- range $s := $root.Values.backup.restore.shards }}{{ $restoreShards = append $restoreShards (int $s) }}{{ end -}}
{{- $restore := and $backup (has $shard $restoreShards) -}}
bootstrap:
  {{- if $restore }}
  # backup.restore.shards: a new cluster starts from the repository instead of initdb (the
  # restored roles and databases are there already, so no post_bootstrap); Patroni waits for
  # the recovery to promote it, then clones the other members from it.
  method: pgbackrest
  pgbackrest:
    command: {{ printf "/bin/sh /etc/pgbackrest/restore.sh %s %s %s" $stanza $dataDir (squote $root.Values.backup.restore.target) | quote }}
    no_params: true
    keep_existing_recovery_conf: true
  {{- end }}
  dcs:
    ttl: {{ $p.ttl }}
    loop_wait: {{ $p.loopWait }}
    retry_timeout: {{ $p.ttl }}
    maximum_lag_on_failover: 1048576
    # A commit is acknowledged by the primary and one replica: a failover loses no
    # confirmed booking.
    synchronous_mode: {{ $p.synchronousMode }}
    postgresql:
      use_pg_rewind: true
      parameters:
        {{- range $k, $v := $p.parameters }}
        {{ $k }}: {{ $v | quote }}
        {{- end }}
  initdb:
    - encoding: UTF8
    - data-checksums
  {{- if not $restore }}
  post_bootstrap: /etc/patroni/post-bootstrap.sh
  {{- end }}
postgresql:
  pg_hba:
    - local all all trust
    - host replication standby all scram-sha-256
    - host all all all scram-sha-256
  {{- if $backup }}
  # WAL archiving into the shard's stanza, in every member's own configuration as locally
  # (scripts/stack.d/patroni.sh): only the primary archives, so after a failover the new primary
  # carries on where the old one stopped. archive_timeout bounds a restore's RPO when writes are rare.
  parameters:
    archive_mode: "on"
    archive_timeout: {{ $root.Values.backup.archiveTimeoutSeconds | int }}
    archive_command: {{ include "clinic.archiveCommand" (list $stanza $dataDir) | quote }}
  {{- end }}
{{- end -}}
