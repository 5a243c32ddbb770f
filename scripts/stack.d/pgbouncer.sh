# shellcheck shell=bash
# PgBouncer (Debian's package) in transaction mode in front of every booking shard's primary, as
# the design's diagram has it: one process, one pooled database per shard
# (`127.0.0.1:$CLINIC_PGBOUNCER_PORT/clinic_booking_<n>`), each pointing at HAProxy's primary
# address of its shard, so a failover is a broken server connection PgBouncer redials.
#
# The booking service sends its transactions through it (BOOKING_SHARDS) and keeps what needs a
# session of its own on the direct primary address (BOOKING_SHARD_SESSIONS): the outbox relay's
# LISTEN (a notification would reach whichever client holds that server connection next) and the
# migrations and partition upkeep (DDL under session-level locks). Transaction-scoped advisory
# locks, unnamed prepared statements (node-postgres' parameterized queries) and NOTIFY inside a
# transaction work through transaction pooling; named prepared statements do not with PgBouncer
# 1.18 (they arrive in 1.21), and nothing on the booking path uses them.
#
# Sizing: CLINIC_PGBOUNCER_POOL_SIZE (20) server connections per shard, whatever the number of
# clients (max 1000): the booking service's pools (DB_POOL_MAX, 10 per replica) become client
# connections, and a booking transaction holds its server connection for a few milliseconds.

load_component postgres
load_component patroni

PORT_DEFAULTS+=(CLINIC_PGBOUNCER_PORT:15650)
CLINIC_PGBOUNCER_POOL_SIZE="${CLINIC_PGBOUNCER_POOL_SIZE:-20}"
CLINIC_PGBOUNCER_STATEMENT_TIMEOUT_MS="${CLINIC_PGBOUNCER_STATEMENT_TIMEOUT_MS:-5000}"
PGBOUNCER_DIR="$CLINIC_STATE_DIR/pgbouncer"
PGBOUNCER_INI="$PGBOUNCER_DIR/pgbouncer.ini"

pgbouncer_apt() { have pgbouncer || [[ -x /usr/sbin/pgbouncer ]] || echo pgbouncer; }
pgbouncer_bin() { if have pgbouncer; then command -v pgbouncer; else echo /usr/sbin/pgbouncer; fi; }

pgbouncer_addr() { printf '127.0.0.1:%s (transaction pooling, %s server connections per shard)' "${CLINIC_PGBOUNCER_PORT:--}" "$CLINIC_PGBOUNCER_POOL_SIZE"; }

# The admin console's SHOW commands (stats_users), as the services' login.
pgbouncer_show() {
  PGPASSWORD="$PG_APP_PASSWORD" "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$CLINIC_PGBOUNCER_PORT" -U "$PG_APP_USER" -d pgbouncer -c "$1"
}

pgbouncer_health() {
  [[ -n "${CLINIC_PGBOUNCER_PORT:-}" ]] && pg_find_bindir || return 1
  pgbouncer_show "SHOW VERSION" >/dev/null 2>&1
}

pgbouncer_write_config() {
  local s
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PGBOUNCER_DIR"
  {
    echo "; Written by scripts/stack on every start; edit scripts/stack.d/pgbouncer.sh, not this file."
    echo "[databases]"
    for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
      # statement_timeout cannot come from the client: node-postgres sends it as a startup
      # parameter, which PgBouncer does not pass on (ignore_startup_parameters below); every
      # server connection sets the services' value itself.
      printf "clinic_booking_%s = host=127.0.0.1 port=%s dbname=clinic_booking_%s connect_query='SET statement_timeout = %s'\n" \
        "$s" "$(patroni_port "PRIMARY_${s}")" "$s" "$CLINIC_PGBOUNCER_STATEMENT_TIMEOUT_MS"
    done
    cat <<EOF

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $CLINIC_PGBOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $PGBOUNCER_DIR/userlist.txt
stats_users = $PG_APP_USER
pool_mode = transaction
max_client_conn = 1000
default_pool_size = $CLINIC_PGBOUNCER_POOL_SIZE
min_pool_size = 2
reserve_pool_size = 0
server_idle_timeout = 300
ignore_startup_parameters = extra_float_digits,statement_timeout
; Failover: a dead primary's server connections fail at once (HAProxy cuts them), a client waits
; at most 5 s for a server connection before getting an error it retries (SQLSTATE 08P01), and a
; failed connect is retried after 1 s rather than PgBouncer's default 15 s.
server_connect_timeout = 3
server_login_retry = 1
query_wait_timeout = 5
server_check_delay = 10
log_connections = 0
log_disconnections = 0
pidfile =
EOF
  } > "$PGBOUNCER_INI.tmp"
  # PgBouncer logs in with the services' password to the servers as well (SCRAM from a plain
  # password in the auth file).
  printf '"%s" "%s"\n' "$PG_APP_USER" "$PG_APP_PASSWORD" > "$PGBOUNCER_DIR/userlist.txt.tmp"
  chown "$PG_SUPERUSER:" "$PGBOUNCER_INI.tmp" "$PGBOUNCER_DIR/userlist.txt.tmp"
  chmod 600 "$PGBOUNCER_INI.tmp" "$PGBOUNCER_DIR/userlist.txt.tmp"
  mv -f "$PGBOUNCER_DIR/userlist.txt.tmp" "$PGBOUNCER_DIR/userlist.txt"
  mv -f "$PGBOUNCER_INI.tmp" "$PGBOUNCER_INI"
}

# PgBouncer refuses to run as root: it runs as `postgres`, started like Patroni (setpriv execs in
# place, so the recorded pid is PgBouncer's own).
pgbouncer_start() {
  local lf pid i bin
  lf="$(logfile_of pgbouncer)"
  bin="$(pgbouncer_bin)"
  touch "$lf"
  chown "$PG_SUPERUSER:" "$lf"
  clear_pid pgbouncer
  printf '\n===== %s starting pgbouncer\n' "$(date '+%F %T')" >> "$lf"
  setsid setpriv --reuid="$PG_SUPERUSER" --regid="$PG_SUPERUSER" --init-groups -- \
    "$bin" "$PGBOUNCER_INI" >> "$lf" 2>&1 < /dev/null 8>&- &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    proc_alive "$pid" || fail_component pgbouncer "exited immediately after start"
    if [[ "$(proc_argv0 "$pid")" == pgbouncer ]]; then register_pid pgbouncer "$pid" && return 0; fi
    sleep 0.05
  done
  fail_component pgbouncer "pid $pid never became pgbouncer"
}

pgbouncer_up() {
  [[ "$CLINIC_BOOKING_HA" == patroni ]] || fail_component pgbouncer "PgBouncer fronts the shards' Patroni primaries: it needs CLINIC_BOOKING_HA=patroni" 0
  [[ -x "$(pgbouncer_bin)" ]] || fail_component pgbouncer "pgbouncer not found (Debian package pgbouncer)" 0
  [[ "$CLINIC_PGBOUNCER_POOL_SIZE" =~ ^[1-9][0-9]*$ ]] || die "CLINIC_PGBOUNCER_POOL_SIZE must be a positive number, got '$CLINIC_PGBOUNCER_POOL_SIZE'"
  pg_find_bindir || fail_component pgbouncer "no PostgreSQL client binaries found" 0
  pg_ensure_user
  patroni_resolve_ports 1
  if ! running_pid pgbouncer >/dev/null; then
    require_port_free pgbouncer CLINIC_PGBOUNCER_PORT
    pgbouncer_write_config
    pg_ensure_traversable "$PGBOUNCER_DIR"
    pgbouncer_start
  fi
  wait_healthy pgbouncer 15
}

# Pools per shard: clients active/waiting, server connections active/idle.
pgbouncer_detail() {
  pgbouncer_show "SHOW POOLS" 2>/dev/null | awk -F'|' '$1 ~ /^clinic_booking/ {printf "    %s: clients %s active, %s waiting; servers %s active, %s idle\n", $1, $3, $4, $6, $7}'
}

pgbouncer_env() {
  [[ -n "${CLINIC_PGBOUNCER_PORT:-}" ]] || return 0
  echo "PGBOUNCER_ADDR=127.0.0.1:$CLINIC_PGBOUNCER_PORT"
}
