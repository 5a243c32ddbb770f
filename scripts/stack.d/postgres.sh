# shellcheck shell=bash
# PostgreSQL: one cluster per state dir, run as the `postgres` system user
# (the server refuses to run as root).

PG_DIR="$CLINIC_STATE_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_SUPERUSER=postgres
PG_APP_USER=clinic
PG_APP_PASSWORD=clinic
PG_FIXED_DBS=(clinic_doctor clinic_slot clinic_notifier clinic_edge)
PG_BIN=""

postgres_addr() { printf '127.0.0.1:%s' "${CLINIC_PG_PORT:--}"; }

# What `scripts/stack reset postgres` deletes (see recovery_hint in common.sh).
postgres_state_lost() {
  if [[ "$CLINIC_BOOKING_HA" == none ]]; then
    printf "the services' databases, the booking shards' included"
  else
    printf "the services' databases (doctors, slots, accounts, notifications)"
  fi
}

pg_shard_dbs() {
  local i out=()
  [[ "$CLINIC_BOOKING_SHARDS" =~ ^[1-9][0-9]*$ ]] \
    || die "CLINIC_BOOKING_SHARDS must be a positive integer, got '$CLINIC_BOOKING_SHARDS'"
  for ((i = 0; i < CLINIC_BOOKING_SHARDS; i++)); do out+=("clinic_booking_$i"); done
  printf '%s\n' "${out[@]}"
}

# Highest installed major version wins, whether found through pg_config or
# Debian's versioned layout, so an upgrade on the host is picked up.
pg_find_bindir() {
  [[ -n "$PG_BIN" ]] && return 0
  local d v best="" bestv=-1 cands=()
  if have pg_config; then cands+=("$(pg_config --bindir 2>/dev/null || true)"); fi
  for d in /usr/lib/postgresql/*/bin; do cands+=("$d"); done
  for d in "${cands[@]}"; do
    [[ -n "$d" && -x "$d/postgres" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/pg_isready" && -x "$d/psql" ]] || continue
    if [[ "$d" =~ ^/usr/lib/postgresql/([0-9]+)/bin$ ]]; then
      v="${BASH_REMATCH[1]}"
    else
      v="$("$d/postgres" --version 2>/dev/null | sed -n 's/^[^0-9]*\([0-9][0-9]*\).*/\1/p')"
      [[ -n "$v" ]] || v=0
    fi
    if ((v > bestv)); then best="$d"; bestv="$v"; fi
  done
  [[ -n "$best" ]] || return 1
  PG_BIN="$best"
}

postgres_apt() {
  # The `postgresql` metapackage pulls the distribution's current server
  # (postgresql-15 on Debian 12), so this keeps working on a newer release.
  pg_find_bindir || printf '%s\n' postgresql postgresql-contrib
}

pg_ensure_user() {
  id -u "$PG_SUPERUSER" >/dev/null 2>&1 && return 0
  log "stack: postgres: creating system user '$PG_SUPERUSER'"
  useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
    --shell /bin/bash "$PG_SUPERUSER" || die "postgres: could not create user $PG_SUPERUSER"
}

as_pg() {
  if have runuser; then
    runuser -u "$PG_SUPERUSER" -- "$@"
  else
    local q
    printf -v q '%q ' "$@"
    su "$PG_SUPERUSER" -s /bin/bash -c "$q"
  fi
}

# The state dir usually sits under a root-owned tree; the server only needs to
# pass through the ancestors, so grant search (x) permission on exactly those
# directories that lack it, preferring an ACL entry for postgres alone.
pg_ensure_traversable() {
  local target="${1:-$PG_DIR}"
  as_pg test -x "$target" 2>/dev/null && return 0
  local d="$target" dirs=()
  while [[ "$d" != / ]]; do
    d="$(dirname "$d")"
    dirs+=("$d")
  done
  local i
  for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
    d="${dirs[$i]}"
    as_pg test -x "$d" 2>/dev/null && continue
    if have setfacl && setfacl -m "u:$PG_SUPERUSER:x" "$d" 2>/dev/null; then
      log "stack: postgres: granted $PG_SUPERUSER search permission on $d (ACL)"
    else
      chmod o+x "$d" || die "postgres: cannot make $d traversable for $PG_SUPERUSER"
      log "stack: postgres: added o+x on $d so $PG_SUPERUSER can reach its data dir"
    fi
  done
  as_pg test -x "$target" || die "postgres: $PG_SUPERUSER still cannot reach $target"
}

# Unix socket paths are limited to 107 bytes; deep state dirs fall back to a
# per-state-dir directory under /tmp.
pg_socket_dir() {
  local d="$PG_DIR/run"
  if ((${#d} + 20 > 100)); then
    d="/tmp/clinic-pg-$(printf '%s' "$CLINIC_STATE_DIR" | md5sum | cut -c1-12)"
  fi
  printf '%s' "$d"
}

pg_write_conf() {
  local sock="$1" fsync="${CLINIC_PG_FSYNC:-on}"
  local conf="$PG_DATA/clinic.conf"
  {
    echo "# Written by scripts/stack on every start; edit the script, not this file."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $CLINIC_PG_PORT"
    echo "unix_socket_directories = $(pg_conf_quote "$sock")"
    echo "max_connections = 300"
    echo "shared_buffers = 256MB"
    echo "fsync = $fsync"
    if [[ "$fsync" == off ]]; then
      # Throwaway test clusters: durability buys nothing there.
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
    echo "logging_collector = off"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    echo "log_min_messages = warning"
    echo "timezone = 'UTC'"
    if [[ "$CLINIC_BACKUP" == on ]]; then
      # The services' databases into their pgBackRest stanza (scripts/stack.d/pgbackrest.sh).
      echo "archive_mode = on"
      echo "archive_timeout = $CLINIC_ARCHIVE_TIMEOUT"
      echo "archive_command = $(pg_conf_quote "$(pgbackrest_archive_command "$PGBACKREST_SERVICES_STANZA" "$PG_DATA")")"
    fi
  } > "$conf.tmp"
  mv -f "$conf.tmp" "$conf"
  chown "$PG_SUPERUSER:" "$conf"
}

pg_init() {
  local lf="$1"
  # A data dir without PG_VERSION is a half-finished initdb: start over.
  if [[ -d "$PG_DATA" && ! -f "$PG_DATA/PG_VERSION" ]]; then
    rm -rf "$PG_DATA"
  fi
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  log "stack: postgres: initdb $PG_DATA"
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PG_DATA"
  # C collation with UTF8 encoding: needs no generated locale and sorts the
  # same on every machine, which keeps test expectations stable.
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" \
      --encoding=UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >> "$lf" 2>&1; then
    fail_component postgres "initdb failed"
  fi
  printf "\ninclude_if_exists = 'clinic.conf'\n" >> "$PG_DATA/postgresql.conf"
}

pg_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$CLINIC_PG_PORT" \
    -U "$PG_SUPERUSER" "$@"
}

# Idempotent: safe on every `up`, and picks up a raised CLINIC_BOOKING_SHARDS.
pg_bootstrap() {
  local db sql
  sql="DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE $PG_APP_USER LOGIN CREATEDB PASSWORD '$PG_APP_PASSWORD';
  END IF;
END \$\$;
"
  local shard_dbs=()
  # With Patroni the shards are databases of their own clusters (scripts/stack.d/patroni.sh).
  [[ "$CLINIC_BOOKING_HA" == none ]] && mapfile -t shard_dbs < <(pg_shard_dbs)
  for db in "${PG_FIXED_DBS[@]}" "${shard_dbs[@]}"; do
    sql+="SELECT 'CREATE DATABASE $db OWNER $PG_APP_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')
\\gexec
"
  done
  printf '%s' "$sql" | pg_psql -d postgres >> "$(logfile_of postgres)" 2>&1 \
    || fail_component postgres "creating role/databases failed"
}

postgres_health() {
  pg_find_bindir || return 1
  [[ -n "${CLINIC_PG_PORT:-}" ]] || return 1
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$CLINIC_PG_PORT" -t 2 >/dev/null 2>&1
}

postgres_up() {
  pg_find_bindir || fail_component postgres "no PostgreSQL server binaries found (looked in pg_config --bindir and /usr/lib/postgresql/*/bin)" 0
  pg_ensure_user
  local lf sock pid
  lf="$(logfile_of postgres)"
  sock="$(pg_socket_dir)"

  if running_pid postgres >/dev/null; then
    wait_healthy postgres 30
    pg_bootstrap
    return 0
  fi

  # A server of this data dir may be up while our pid file is gone (deleted
  # state/run, crash of this script): adopt it instead of failing to start.
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    pid="$(head -n 1 "$PG_DATA/postmaster.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" \
        && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$PG_DATA"; then
      register_pid postgres "$pid"
      wait_healthy postgres 30
      pg_bootstrap
      return 0
    fi
  fi

  require_port_free postgres CLINIC_PG_PORT
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PG_DIR"
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$sock"
  touch "$lf"
  chown "$PG_SUPERUSER:" "$lf"
  pg_ensure_traversable
  pg_init "$lf"
  pg_write_conf "$sock"

  # Both append: pg_ctl's own complaints land next to the server's log.
  # shellcheck disable=SC2094
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$lf" -w -t 30 -s start >> "$lf" 2>&1 8>&-; then
    fail_component postgres "pg_ctl start failed or timed out after 30s"
  fi
  pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || fail_component postgres "started but $PG_DATA/postmaster.pid has no pid"
  register_pid postgres "$pid" || fail_component postgres "server exited right after start"
  wait_healthy postgres 30
  pg_bootstrap
}

# SIGINT is PostgreSQL's "fast" shutdown: it ends open sessions. SIGTERM
# ("smart") would wait for every client, so a service's idle connection pool
# could hold `down` until the SIGKILL fallback.
postgres_down() { stop_bg postgres INT; }

# The shards' databases: names on this server, or host:port/database of each shard's primary
# (or replica) address at HAProxy with Patroni.
booking_shard_entries() {
  if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
    load_component patroni
    patroni_shard_entries "$1"
  else
    pg_shard_dbs | paste -sd, -
  fi
}

postgres_env() {
  cat <<EOF
PGHOST=127.0.0.1
PGPORT=$CLINIC_PG_PORT
PGUSER=$PG_APP_USER
PGPASSWORD=$PG_APP_PASSWORD
CLINIC_DB_DOCTOR=clinic_doctor
CLINIC_DB_SLOT=clinic_slot
CLINIC_DB_NOTIFIER=clinic_notifier
CLINIC_DB_EDGE=clinic_edge
EOF
  # With Patroni, the shards' addresses exist once their clusters were started (a stack of only
  # some components, `up kafka` say, has none: nothing is written for them then).
  local shards replicas
  if shards="$(booking_shard_entries PRIMARY 2>/dev/null)"; then echo "CLINIC_DB_BOOKING_SHARDS=$shards"; fi
  if [[ "$CLINIC_BOOKING_HA" == patroni ]] && replicas="$(booking_shard_entries REPLICA 2>/dev/null)"; then
    echo "CLINIC_DB_BOOKING_REPLICAS=$replicas"
  fi
  return 0
}
