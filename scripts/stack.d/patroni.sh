# shellcheck shell=bash
# The booking shards as Patroni clusters: one cluster (scope `clinic-booking-<shard>`) per shard,
# CLINIC_PATRONI_MEMBERS members each (default 3: a primary, a synchronous standby and an
# asynchronous replica), every member a Patroni process that runs its own PostgreSQL as the
# `postgres` user. etcd is the DCS (scripts/stack.d/etcd.sh); HAProxy gives each shard a stable
# primary and replica address (scripts/stack.d/haproxy.sh).
#
# `synchronous_mode` is on, so a commit is acknowledged only once the synchronous standby has it:
# promoting that standby cannot lose an acknowledged booking. `failsafe_mode` keeps a primary
# serving while etcd is down as long as it still reaches every other member.
#
# Settings: CLINIC_BOOKING_HA (patroni, the default; `none` keeps the shards as databases of the
# stack's single PostgreSQL), CLINIC_PATRONI_MEMBERS (3), CLINIC_BOOKING_SHARDS (4),
# CLINIC_PATRONI_TTL (8 s: the leader key's lifetime, so a dead primary is replaced within it).

load_component postgres
load_component etcd

CLINIC_PATRONI_MEMBERS="${CLINIC_PATRONI_MEMBERS:-3}"
CLINIC_PATRONI_TTL="${CLINIC_PATRONI_TTL:-8}"
PATRONI_DIR="$CLINIC_STATE_DIR/patroni"
PATRONI_PORTS_FILE="$PATRONI_DIR/ports.env"
PATRONI_SECRETS_FILE="$PATRONI_DIR/secrets.env"

# Ports per member and shard: PG_<shard>_<member>, REST_<shard>_<member>, and HAProxy's
# PRIMARY_<shard>, REPLICA_<shard>, HAPROXY_STATS; fixed defaults, or free ones with
# CLINIC_PORTS=free, kept in $PATRONI_PORTS_FILE once chosen.
declare -gA PATRONI_PORT=()

patroni_check_settings() {
  [[ "$CLINIC_PATRONI_MEMBERS" =~ ^[1-9](,[1-9])*$ ]] \
    || die "CLINIC_PATRONI_MEMBERS must be a member count 1..9, or one per shard (e.g. 3,1), got '$CLINIC_PATRONI_MEMBERS'"
  [[ "$CLINIC_BOOKING_SHARDS" =~ ^[1-9]$ ]] || die "with Patroni, CLINIC_BOOKING_SHARDS must be 1..9, got '$CLINIC_BOOKING_SHARDS'"
  [[ "$CLINIC_PATRONI_TTL" =~ ^[0-9]+$ ]] && ((CLINIC_PATRONI_TTL >= 6)) || die "CLINIC_PATRONI_TTL must be >= 6 seconds"
}

# Members of shard $1: CLINIC_PATRONI_MEMBERS is one count for every shard, or a list with one
# count per shard (the last one repeats), e.g. `3,1` in the tests: a full cluster to break, and
# a small one beside it to show the other shards are unaffected.
patroni_members_of() {
  local counts
  IFS=, read -r -a counts <<< "$CLINIC_PATRONI_MEMBERS"
  if (($1 < ${#counts[@]})); then printf '%s' "${counts[$1]}"; else printf '%s' "${counts[${#counts[@]} - 1]}"; fi
}

patroni_port_names() {
  local s m
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do printf 'PG_%s_%s REST_%s_%s\n' "$s" "$m" "$s" "$m"; done
    printf 'PRIMARY_%s REPLICA_%s\n' "$s" "$s"
  done
  echo HAPROXY_STATS
}

patroni_default_port() {
  local name="$1" s m
  case "$name" in
    PG_*) s="${name#PG_}"; m="${s#*_}"; s="${s%_*}"; echo $((15500 + s * 10 + m)) ;;
    REST_*) s="${name#REST_}"; m="${s#*_}"; s="${s%_*}"; echo $((18000 + s * 10 + m)) ;;
    PRIMARY_*) echo $((15600 + ${name#PRIMARY_})) ;;
    REPLICA_*) echo $((15620 + ${name#REPLICA_})) ;;
    HAPROXY_STATS) echo 15690 ;;
  esac
}

# Loads the ports; with persist=1 (up) chooses the missing ones and writes them back.
patroni_resolve_ports() {
  local persist="${1:-0}" name val missing=()
  PATRONI_PORT=()
  if [[ -f "$PATRONI_PORTS_FILE" ]]; then
    while IFS='=' read -r name val; do
      [[ "$name" =~ ^[A-Z_0-9]+$ && "$val" =~ ^[0-9]+$ ]] && PATRONI_PORT[$name]="$val"
    done < "$PATRONI_PORTS_FILE"
  fi
  for name in $(patroni_port_names); do
    [[ -n "${PATRONI_PORT[$name]:-}" ]] || missing+=("$name")
  done
  [[ ${#missing[@]} -gt 0 && "$persist" -eq 1 ]] || return 0
  local ports=() i
  if [[ "${CLINIC_PORTS:-}" == free ]]; then
    read -r -a ports <<< "$(pick_free_ports "${#missing[@]}")" || die "could not pick free ports"
  else
    for name in "${missing[@]}"; do ports+=("$(patroni_default_port "$name")"); done
  fi
  for i in "${!missing[@]}"; do PATRONI_PORT[${missing[$i]}]="${ports[$i]}"; done
  mkdir -p "$PATRONI_DIR"
  for name in "${!PATRONI_PORT[@]}"; do printf '%s=%s\n' "$name" "${PATRONI_PORT[$name]}"; done | sort > "$PATRONI_PORTS_FILE.tmp"
  mv -f "$PATRONI_PORTS_FILE.tmp" "$PATRONI_PORTS_FILE"
}

patroni_port() {
  local v="${PATRONI_PORT[$1]:-}"
  [[ -n "$v" ]] || die "patroni: no port for $1 (run scripts/stack up patroni first)"
  printf '%s' "$v"
}

patroni_member_name() { printf 'booking-%s-m%s' "$1" "$2"; }
patroni_scope() { printf 'clinic-booking-%s' "$1"; }
patroni_config_of() { printf '%s/%s.yml' "$PATRONI_DIR" "$(patroni_member_name "$1" "$2")"; }

# Superuser, replication and rewind passwords: random per state dir, hex so they need no quoting.
patroni_secrets() {
  if [[ ! -s "$PATRONI_SECRETS_FILE" ]]; then
    mkdir -p "$PATRONI_DIR"
    (
      umask 077
      printf 'PATRONI_SUPERUSER_PASSWORD=%s\nPATRONI_REPLICATION_PASSWORD=%s\nPATRONI_REWIND_PASSWORD=%s\n' \
        "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
        "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" > "$PATRONI_SECRETS_FILE"
    )
  fi
  # shellcheck disable=SC1090
  source "$PATRONI_SECRETS_FILE"
}

patroni_apt() {
  have patroni || echo patroni
  have patronictl || echo patroni
}

patroni_addr() {
  printf '%s shard(s), members %s, etcd %s' "$CLINIC_BOOKING_SHARDS" "$CLINIC_PATRONI_MEMBERS" "${CLINIC_ETCD_PORT:--}"
}

# WAL archiving into the shard's pgBackRest stanza (scripts/stack.d/pgbackrest.sh). Set in every
# member's own configuration ($1: the shard, $2: the member's data directory): only the primary
# archives (archive_mode `on`), so after a failover the new primary carries on where the old one
# stopped.
patroni_archive_parameters() {
  [[ "$CLINIC_BACKUP" == on ]] || return 0
  printf "    archive_mode: 'on'\n    archive_timeout: %s\n    archive_command: %s\n" \
    "$CLINIC_ARCHIVE_TIMEOUT" "$(yaml_quote "$(pgbackrest_archive_command "$(pgbackrest_shard_stanza "$1")" "$2")")"
}

# $1 as a single-quoted YAML string (a single quote inside is doubled; nothing else is special).
yaml_quote() { printf "'%s'" "${1//\'/\'\'}"; }

patroni_write_config() {
  local s="$1" m="$2" name conf data sock fsync="${CLINIC_PG_FSYNC:-on}"
  name="$(patroni_member_name "$s" "$m")"
  conf="$(patroni_config_of "$s" "$m")"
  data="$PATRONI_DIR/$name/data"
  sock="$(pg_socket_dir)"
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PATRONI_DIR/$name" "$sock"
  # retry_timeout and loop_wait are sized from the TTL as Patroni requires
  # (loop_wait + 2 * retry_timeout <= ttl).
  local ttl="$CLINIC_PATRONI_TTL" loop_wait=2 retry
  retry=$(((ttl - loop_wait) / 2))
  cat > "$conf.tmp" <<EOF
# Written by scripts/stack on every start; edit scripts/stack.d/patroni.sh, not this file.
scope: $(patroni_scope "$s")
namespace: /clinic/
name: $name
log:
  level: INFO
  format: '%(asctime)s $name %(levelname)s: %(message)s'
restapi:
  listen: 127.0.0.1:$(patroni_port "REST_${s}_${m}")
  connect_address: 127.0.0.1:$(patroni_port "REST_${s}_${m}")
# etcd's v2 API, not v3: Patroni 3.0's etcd3 client renews the leader key with an unconditional
# put, so a primary frozen past its TTL takes the key back from the member promoted meanwhile
# when it resumes (seen in the chaos suite's scenario 2). The v2 client renews with
# compare-and-swap on its own name and fails once another member holds the key.
etcd:
  hosts: 127.0.0.1:$CLINIC_ETCD_PORT
bootstrap:
  dcs:
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry
    # A replica more than 1 MiB behind is never promoted: only the synchronous standby (0 lag
    # for every acknowledged commit) or a caught-up replica.
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: false
    synchronous_node_count: 1
    failsafe_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 200
        shared_buffers: 32MB
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        hot_standby_feedback: 'on'
  initdb:
    - encoding: UTF8
    - no-locale
    - auth-local: trust
    - auth-host: scram-sha-256
postgresql:
  listen: 127.0.0.1:$(patroni_port "PG_${s}_${m}")
  connect_address: 127.0.0.1:$(patroni_port "PG_${s}_${m}")
  data_dir: $(yaml_quote "$data")
  bin_dir: $(yaml_quote "$PG_BIN")
  pgpass: $(yaml_quote "$PATRONI_DIR/$name/pgpass")
  use_unix_socket: true
  authentication:
    superuser: {username: postgres, password: $PATRONI_SUPERUSER_PASSWORD}
    replication: {username: replicator, password: $PATRONI_REPLICATION_PASSWORD}
    rewind: {username: rewinder, password: $PATRONI_REWIND_PASSWORD}
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
  parameters:
    unix_socket_directories: $(yaml_quote "$sock")
$(patroni_archive_parameters "$s" "$data")
    fsync: '$fsync'
    logging_collector: 'off'
    log_line_prefix: '%m [%p] $name %q%u@%d '
    log_min_messages: warning
    timezone: UTC
  basebackup:
    - checkpoint: fast
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
  chown "$PG_SUPERUSER:" "$conf.tmp"
  chmod 600 "$conf.tmp"
  mv -f "$conf.tmp" "$conf"
}

# Patroni runs as `postgres` (so does the server it starts). setpriv changes the user and execs in
# place, so the recorded pid is Patroni's own and stays so.
patroni_start_member() {
  local s="$1" m="$2" name lf pid i
  name="$(patroni_member_name "$s" "$m")"
  running_pid "$name" >/dev/null && return 0
  clear_pid "$name"
  lf="$(logfile_of "$name")"
  touch "$lf"
  chown "$PG_SUPERUSER:" "$lf"
  patroni_write_config "$s" "$m"
  printf '\n===== %s starting %s\n' "$(date '+%F %T')" "$name" >> "$lf"
  # A clean environment: libpq prefers PGPASSWORD/PGUSER from the environment over the passfile
  # Patroni writes, so a caller's PG* settings (the services' login) would break replication.
  setsid setpriv --reuid="$PG_SUPERUSER" --regid="$PG_SUPERUSER" --init-groups -- \
    env -i HOME=/var/lib/postgresql PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    patroni "$(patroni_config_of "$s" "$m")" >> "$lf" 2>&1 < /dev/null 8>&- &
  pid=$!
  # Wait for the exec chain (setsid, setpriv, env) to end in Patroni's interpreter.
  for ((i = 0; i < 100; i++)); do
    proc_alive "$pid" || fail_component "$name" "exited immediately after start"
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '/patroni '; then
      register_pid "$name" "$pid" && return 0
    fi
    sleep 0.05
  done
  fail_component "$name" "pid $pid never became patroni"
}

# GET on a member's REST API; prints the body, fails on a non-2xx answer.
patroni_rest() {
  local port="$1" path="$2"
  node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then(async (res) => { process.stdout.write(await res.text()); process.exit(res.ok ? 0 : 1); })
      .catch(() => process.exit(1));' "http://127.0.0.1:$port$path" 2>/dev/null
}

# The member index of a shard's current primary.
patroni_leader_of() {
  local s="$1" m
  for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
    if patroni_rest "$(patroni_port "REST_${s}_${m}")" /primary >/dev/null; then
      printf '%s' "$m"
      return 0
    fi
  done
  return 1
}

# A shard is healthy with a primary and, when it has other members, a synchronous standby that
# is streaming.
patroni_shard_healthy() {
  local s="$1" leader cluster
  leader="$(patroni_leader_of "$s")" || return 1
  (($(patroni_members_of "$s") == 1)) && return 0
  cluster="$(patroni_rest "$(patroni_port "REST_${s}_${leader}")" /cluster)" || return 1
  node -e '
    const c = JSON.parse(process.argv[1]);
    // "running" up to Patroni 3.0, "streaming" from 3.1 on.
    const sync = c.members.filter((m) => m.role === "sync_standby" && ["running", "streaming"].includes(m.state));
    process.exit(sync.length > 0 ? 0 : 1);' "$cluster"
}

patroni_health() {
  [[ -f "$PATRONI_PORTS_FILE" ]] || return 1
  patroni_resolve_ports 0
  local s
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do patroni_shard_healthy "$s" || return 1; done
}

# The shard's database and the services' role, created through the primary; idempotent.
patroni_bootstrap_shard() {
  local s="$1" leader
  leader="$(patroni_leader_of "$s")" || fail_component patroni "shard $s has no primary"
  PGPASSWORD="$PATRONI_SUPERUSER_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "$(patroni_port "PG_${s}_${leader}")" -U postgres -d postgres >> "$(logfile_of patroni)" 2>&1 <<SQL \
    || fail_component patroni "creating role/database of shard $s failed"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE $PG_APP_USER LOGIN CREATEDB PASSWORD '$PG_APP_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE clinic_booking_$s OWNER $PG_APP_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'clinic_booking_$s')
\gexec
SQL
}

# Prometheus scrapes every member's /metrics (file-based discovery, so the target list follows
# the member count without editing the Prometheus config). Each target carries its cluster's
# `scope`, so a member that cannot be scraped (up == 0) still tells which shard it belongs to
# (BookingShardWithoutPrimary fires when none of a shard's members can be scraped).
patroni_write_scrape_targets() {
  local dir="$CLINIC_STATE_DIR/prometheus/targets" s m sep="" out="["
  mkdir -p "$dir"
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
      out+="$sep{\"targets\":[\"127.0.0.1:$(patroni_port "REST_${s}_${m}")\"],\"labels\":{\"scope\":\"$(patroni_scope "$s")\",\"shard\":\"$s\",\"member\":\"$(patroni_member_name "$s" "$m")\"}}"
      sep=","
    done
  done
  printf '%s]\n' "$out" > "$dir/patroni.json.tmp"
  mv -f "$dir/patroni.json.tmp" "$dir/patroni.json"
}

patroni_up() {
  patroni_check_settings
  have patroni || fail_component patroni "patroni not found (Debian package patroni)" 0
  load_component postgres
  load_component etcd
  pg_find_bindir || fail_component patroni "no PostgreSQL server binaries found" 0
  pg_ensure_user
  etcd_health || etcd_up
  mkdir -p "$PATRONI_DIR"
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PATRONI_DIR"
  chown "$PG_SUPERUSER:" "$PATRONI_DIR"
  pg_ensure_traversable "$PATRONI_DIR"
  patroni_resolve_ports 1
  patroni_secrets
  local s m
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
      running_pid "$(patroni_member_name "$s" "$m")" >/dev/null && continue
      # A PostgreSQL left running by this member's dead Patroni holds the port; Patroni adopts it
      # (and demotes it if another member took over meanwhile).
      patroni_orphan_postmaster "$s" "$m" >/dev/null || require_port_free patroni "PATRONI_PORT[PG_${s}_${m}]"
      patroni_start_member "$s" "$m"
    done
  done
  patroni_write_scrape_targets
  # The first start runs initdb and base backups: allow for that.
  local deadline=$((SECONDS + 180))
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    until patroni_shard_healthy "$s"; do
      ((SECONDS < deadline)) || fail_component "$(patroni_member_name "$s" 0)" "shard $s has no primary with a streaming synchronous standby after 180 s"
      for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
        running_pid "$(patroni_member_name "$s" "$m")" >/dev/null \
          || fail_component "$(patroni_member_name "$s" "$m")" "exited during startup"
      done
      sleep 0.5
    done
    patroni_bootstrap_shard "$s"
  done
}

# The pid of a PostgreSQL still running on a member's data directory.
patroni_orphan_postmaster() {
  local data pid
  data="$PATRONI_DIR/$(patroni_member_name "$1" "$2")/data"
  [[ -f "$data/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$data/postmaster.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data" || return 1
  printf '%s' "$pid"
}

# Every member at once: stopping a primary alone would hand its leader key to a replica that is
# about to be stopped too.
patroni_down() {
  [[ -f "$PATRONI_PORTS_FILE" ]] || return 0
  local s m pids=()
  for ((s = 0; s < 9; s++)); do
    for ((m = 0; m < 9; m++)); do
      [[ -f "$(pidfile_of "$(patroni_member_name "$s" "$m")")" ]] || continue
      stop_bg "$(patroni_member_name "$s" "$m")" TERM 60 &
      pids+=($!)
    done
  done
  local p
  for p in "${pids[@]}"; do wait "$p" || true; done
  # Patroni detaches the PostgreSQL it starts; one whose Patroni died (kill -9 in a failover
  # test) is still running and is stopped here by its data directory's postmaster.pid.
  local pid
  for ((s = 0; s < 9; s++)); do
    for ((m = 0; m < 9; m++)); do
    pid="$(patroni_orphan_postmaster "$s" "$m")" || continue
    log "stack: patroni: stopping PostgreSQL $pid left without its Patroni ($(patroni_member_name "$s" "$m"))"
    kill -INT "$pid" 2>/dev/null || true
    for ((p = 0; p < 100; p++)); do proc_alive "$pid" || break; sleep 0.1; done
    proc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    done
  done
  return 0
}

# What `scripts/stack reset patroni` deletes (see recovery_hint in common.sh).
patroni_state_lost() { printf "every booking shard's data on every member, and the clusters' keys in etcd"; }

# `reset patroni` clears the clusters' keys in etcd with their data directories: a new member
# that finds a cluster's initialize key but no leader waits forever to clone from one, and one
# whose data has another system id than that key exits ("system ID mismatch"). Every scope a
# shard count could have made (clinic-booking-0..8) goes; etcd's other data stays. A stopped etcd
# is started for it and stopped again; an etcd without state (or reset with patroni, which
# comes first) holds no keys.
patroni_reset() {
  [[ -d "$ETCD_DIR" ]] || return 0
  local started=0 s
  if ! etcd_health; then
    [[ -n "${CLINIC_ETCD_PORT:-}" ]] || return 0
    ( etcd_up ) >/dev/null || die "patroni: etcd did not start, so the clusters' keys could not be cleared (reset etcd too: scripts/stack reset etcd patroni)"
    started=1
  fi
  for ((s = 0; s < 9; s++)); do
    node -e '
      fetch(process.argv[1], { method: "DELETE", signal: AbortSignal.timeout(5000) })
        .then((res) => process.exit(res.ok || res.status === 404 ? 0 : 1))
        .catch(() => process.exit(1));' "http://127.0.0.1:$CLINIC_ETCD_PORT/v2/keys/clinic/$(patroni_scope "$s")?recursive=true"       || die "patroni: clearing $(patroni_scope "$s")'s keys in etcd failed"
  done
  printf '%-10s cleared its clusters in etcd (/clinic/%s)\n' patroni "$(patroni_scope '*')"
  if ((started)); then stop_bg etcd; fi
}

# Running while any member runs; the health check and the detail below tell what is missing.
patroni_running() {
  local s m
  [[ -f "$PATRONI_PORTS_FILE" ]] || return 1
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
      running_pid "$(patroni_member_name "$s" "$m")" >/dev/null && return 0
    done
  done
  return 1
}

# Members, roles, timeline and lag of every shard, as Patroni sees them.
patroni_detail() {
  patroni_resolve_ports 0
  local s m conf listed out err
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    listed=0
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
      if running_pid "$(patroni_member_name "$s" "$m")" >/dev/null; then
        conf="$(patroni_config_of "$s" "$m")"
        err="$(mktemp)"
        # patronictl reads the cluster from etcd: with etcd down it fails, and says so plainly
        # here instead of leaving a blank where the shard's members would be.
        if out="$(timeout 10 patronictl -c "$conf" list 2>"$err")"; then
          sed 's/^/    /' <<< "$out"
        else
          printf '    %s: patronictl list failed (is etcd up? scripts/stack status etcd): %s\n' \
            "$(patroni_scope "$s")" "$(tail -n 1 "$err")"
        fi
        rm -f "$err"
        listed=1
        break
      fi
    done
    ((listed)) || printf '    %s: no member running\n' "$(patroni_scope "$s")"
  done
}

# Where the booking service finds each shard: HAProxy's primary and replica address per shard.
patroni_shard_entries() {
  local role="$1" s out=()
  patroni_resolve_ports 0
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    # Not chosen yet: the clusters were never started in this state dir.
    [[ -n "${PATRONI_PORT[${role}_${s}]:-}" ]] || return 1
    out+=("127.0.0.1:${PATRONI_PORT[${role}_${s}]}/clinic_booking_$s")
  done
  local IFS=,
  printf '%s' "${out[*]}"
}
