{{/*
pgbouncer.ini of one shard; call with (list $ shard). The local stack's settings
(scripts/stack.d/pgbouncer.sh), sized from values.
*/}}
{{- define "clinic.pgbouncerIni" -}}
{{- $root := index . 0 -}}
{{- $pb := $root.Values.pgbouncer -}}
{{- $database := $root.Values.bookingDatabase.database -}}
[databases]
; statement_timeout cannot come from the client: node-postgres sends it as a startup parameter,
; which PgBouncer does not pass on (ignore_startup_parameters below); every server connection
; sets booking's own value (DB_STATEMENT_TIMEOUT_MS) itself.
{{ $database }} = host={{ include "clinic.shardLeader" . }} port=5432 dbname={{ $database }} connect_query='SET statement_timeout = {{ int (default 5000 (get $root.Values.booking.env "DB_STATEMENT_TIMEOUT_MS")) }}'

[pgbouncer]
listen_addr = *
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/auth/userlist.txt
stats_users = {{ $root.Values.bookingDatabase.user }}
pool_mode = transaction
; Transaction pooling hands a server connection to the next client with no session state to
; reset: no reset query (PgBouncer runs it in session pooling only, said here outright).
server_reset_query =
max_client_conn = {{ int $pb.maxClientConn }}
default_pool_size = {{ int $pb.defaultPoolSize }}
min_pool_size = {{ int $pb.minPoolSize }}
reserve_pool_size = {{ int $pb.reservePoolSize }}
server_idle_timeout = 300
ignore_startup_parameters = extra_float_digits,statement_timeout
; Failover: a dead primary's server connections fail at once, a client waits at most 5 s for a
; server connection before getting an error it retries (SQLSTATE 08P01), and a failed connect is
; retried after 1 s rather than PgBouncer's default 15 s.
server_connect_timeout = 3
server_login_retry = 1
query_wait_timeout = 5
server_check_delay = 10
log_connections = 0
log_disconnections = 0
; Nothing written to the (read-only) root file system: logs go to stderr.
pidfile =
logfile =
{{- end -}}
