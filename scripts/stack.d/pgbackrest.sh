# shellcheck shell=bash
# Backups: pgBackRest (Debian's package) for every booking shard cluster (stanza `booking-<n>`)
# and for the services' PostgreSQL (stanza `services`: doctor, slot, notifier, edge, and the
# shard databases when they live there, CLINIC_BOOKING_HA=none).
#
# WAL is archived continuously (archive_command, see pgbackrest/archive.sh); a backup agent
# (pgbackrest/backup-agent.js, one process) takes the scheduled backups, a full one daily at
# CLINIC_BACKUP_FULL_AT (02:00 UTC) and an incremental one every CLINIC_BACKUP_INCR_SECONDS
# (3600), the first full one as soon as a stanza has none, and serves Prometheus metrics (age of
# the last good backup per stanza, WAL archive failures per member). A shard's backups are copied
# from a replica (backup-standby) when it has one: the primary only starts and stops them.
#
# The repository is encrypted (repo1-cipher-type=aes-256-cbc) with a key kept in
# $PGBACKREST_DIR/secrets.env, or CLINIC_BACKUP_CIPHER_PASS; keep a copy of that key elsewhere:
# without it the repository is unreadable. The repository is a local directory
# (CLINIC_BACKUP_REPO_PATH, default $PGBACKREST_DIR/repo), or an S3-compatible store with
# CLINIC_BACKUP_REPO=s3 and CLINIC_BACKUP_S3_BUCKET, _ENDPOINT, _REGION, _KEY, _KEY_SECRET,
# _URI_STYLE (host or path), _VERIFY_TLS (y or n), _PATH (/clinic).
# Retention: CLINIC_BACKUP_RETENTION_DAYS (30) of full backups, and the WAL to restore to any
# moment inside them.
#
# Operators: `scripts/stack backup` and `scripts/stack restore` (scripts/stack.d/pgbackrest/ops.sh).

load_component postgres
if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then load_component patroni; fi

PORT_DEFAULTS+=(CLINIC_BACKUP_METRICS_PORT:9470)
CLINIC_BACKUP_REPO="${CLINIC_BACKUP_REPO:-local}"
CLINIC_BACKUP_REPO_PATH="${CLINIC_BACKUP_REPO_PATH:-$PGBACKREST_DIR/repo}"
CLINIC_BACKUP_RETENTION_DAYS="${CLINIC_BACKUP_RETENTION_DAYS:-30}"
CLINIC_BACKUP_FULL_AT="${CLINIC_BACKUP_FULL_AT:-02:00}"
CLINIC_BACKUP_INCR_SECONDS="${CLINIC_BACKUP_INCR_SECONDS:-3600}"
PGBACKREST_SECRETS="$PGBACKREST_DIR/secrets.env"

pgbackrest_apt() { have pgbackrest || echo pgbackrest; }

pgbackrest_addr() { printf 'metrics http://127.0.0.1:%s/metrics, repository %s' "${CLINIC_BACKUP_METRICS_PORT:--}" "$(pgbackrest_repo_description)"; }

pgbackrest_repo_description() {
  if [[ "$CLINIC_BACKUP_REPO" == s3 ]]; then printf 's3://%s%s' "${CLINIC_BACKUP_S3_BUCKET:-?}" "${CLINIC_BACKUP_S3_PATH:-/clinic}"; else printf '%s' "$CLINIC_BACKUP_REPO_PATH"; fi
}

# What `scripts/stack reset pgbackrest` deletes (see recovery_hint in common.sh): the backups
# themselves when the repository is the state dir's, always the repository's encryption key.
pgbackrest_state_lost() {
  if [[ "$CLINIC_BACKUP_REPO" == local && "$CLINIC_BACKUP_REPO_PATH" == "$PGBACKREST_DIR"/* ]]; then
    printf 'every backup and archived WAL segment: no restore to any earlier moment is possible afterwards'
  elif [[ -n "${CLINIC_BACKUP_CIPHER_PASS:-}" ]]; then
    printf 'its configuration; the repository at %s is kept' "$(pgbackrest_repo_description)"
  else
    printf 'the encryption key of the repository at %s: its backups cannot be read afterwards unless the key is kept elsewhere' "$(pgbackrest_repo_description)"
  fi
}

pgbackrest_check_settings() {
  [[ "$CLINIC_BACKUP" == on ]] || fail_component pgbackrest "CLINIC_BACKUP=off: WAL is not archived, so there is nothing to back up consistently" 0
  [[ "$CLINIC_BACKUP_REPO" == local || "$CLINIC_BACKUP_REPO" == s3 ]] || die "CLINIC_BACKUP_REPO must be local or s3, got '$CLINIC_BACKUP_REPO'"
  [[ "$CLINIC_BACKUP_RETENTION_DAYS" =~ ^[1-9][0-9]*$ ]] || die "CLINIC_BACKUP_RETENTION_DAYS must be a number of days, got '$CLINIC_BACKUP_RETENTION_DAYS'"
  [[ "$CLINIC_BACKUP_FULL_AT" =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || die "CLINIC_BACKUP_FULL_AT must be HH:MM (UTC), got '$CLINIC_BACKUP_FULL_AT'"
  [[ "$CLINIC_BACKUP_INCR_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "CLINIC_BACKUP_INCR_SECONDS must be a number of seconds, got '$CLINIC_BACKUP_INCR_SECONDS'"
  if [[ "$CLINIC_BACKUP_REPO" == s3 ]]; then
    local v
    for v in CLINIC_BACKUP_S3_BUCKET CLINIC_BACKUP_S3_ENDPOINT CLINIC_BACKUP_S3_REGION CLINIC_BACKUP_S3_KEY CLINIC_BACKUP_S3_KEY_SECRET; do
      [[ -n "${!v:-}" ]] || die "CLINIC_BACKUP_REPO=s3 needs $v"
    done
  fi
}

# The repository's encryption key: random per state dir unless given.
pgbackrest_cipher_pass() {
  if [[ -n "${CLINIC_BACKUP_CIPHER_PASS:-}" ]]; then printf '%s' "$CLINIC_BACKUP_CIPHER_PASS"; return 0; fi
  if [[ ! -s "$PGBACKREST_SECRETS" ]]; then
    (umask 077; printf 'CIPHER_PASS=%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" > "$PGBACKREST_SECRETS")
  fi
  sed -n 's/^CIPHER_PASS=//p' "$PGBACKREST_SECRETS"
}

# Every stanza this stack has, one per line: the services' PostgreSQL, then each shard cluster
# (with Patroni).
pgbackrest_stanzas() {
  echo "$PGBACKREST_SERVICES_STANZA"
  if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
    local s
    for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do pgbackrest_shard_stanza "$s"; echo; done
  fi
}

pgbackrest_write_config() {
  local sock s m tmp="$PGBACKREST_CONF.tmp"
  sock="$(pg_socket_dir)"
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0750 "$PGBACKREST_DIR" "$PGBACKREST_DIR/log" "$PGBACKREST_DIR/lock" "$PGBACKREST_DIR/ready"
  {
    echo "# Written by scripts/stack on every start; edit scripts/stack.d/pgbackrest.sh, not this file."
    echo "[global]"
    if [[ "$CLINIC_BACKUP_REPO" == s3 ]]; then
      echo "repo1-type=s3"
      echo "repo1-path=${CLINIC_BACKUP_S3_PATH:-/clinic}"
      echo "repo1-s3-bucket=$CLINIC_BACKUP_S3_BUCKET"
      echo "repo1-s3-endpoint=$CLINIC_BACKUP_S3_ENDPOINT"
      echo "repo1-s3-region=$CLINIC_BACKUP_S3_REGION"
      echo "repo1-s3-key=$CLINIC_BACKUP_S3_KEY"
      echo "repo1-s3-key-secret=$CLINIC_BACKUP_S3_KEY_SECRET"
      echo "repo1-s3-uri-style=${CLINIC_BACKUP_S3_URI_STYLE:-host}"
      echo "repo1-storage-verify-tls=${CLINIC_BACKUP_S3_VERIFY_TLS:-y}"
    else
      echo "repo1-path=$CLINIC_BACKUP_REPO_PATH"
    fi
    echo "repo1-cipher-type=aes-256-cbc"
    echo "repo1-cipher-pass=$(pgbackrest_cipher_pass)"
    # Time-based: full backups younger than this are kept, with every WAL segment needed to
    # restore to any moment since the oldest of them.
    echo "repo1-retention-full-type=time"
    echo "repo1-retention-full=$CLINIC_BACKUP_RETENTION_DAYS"
    echo "compress-type=lz4"
    # A backup starts with an immediate checkpoint instead of waiting for the next one.
    echo "start-fast=y"
    echo "log-path=$PGBACKREST_DIR/log"
    echo "lock-path=$PGBACKREST_DIR/lock"
    echo "log-level-console=warn"
    echo "log-level-file=info"
    echo
    echo "[$PGBACKREST_SERVICES_STANZA]"
    echo "pg1-path=$PG_DATA"
    echo "pg1-port=$CLINIC_PG_PORT"
    echo "pg1-socket-path=$sock"
    echo "pg1-user=$PG_SUPERUSER"
    if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
      for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
        echo
        echo "[$(pgbackrest_shard_stanza "$s")]"
        for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
          echo "pg$((m + 1))-path=$PATRONI_DIR/$(patroni_member_name "$s" "$m")/data"
          echo "pg$((m + 1))-port=$(patroni_port "PG_${s}_${m}")"
          echo "pg$((m + 1))-socket-path=$sock"
          echo "pg$((m + 1))-user=$PG_SUPERUSER"
        done
        # Copy the files from a standby; the primary only runs pg_backup_start/stop.
        if (($(patroni_members_of "$s") > 1)); then echo "backup-standby=y"; fi
      done
    fi
  } > "$tmp"
  chown "$PG_SUPERUSER:" "$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$PGBACKREST_CONF"
  if [[ "$CLINIC_BACKUP_REPO" == local ]]; then
    install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0750 "$CLINIC_BACKUP_REPO_PATH"
  fi
}

# pgBackRest as the `postgres` user (it reads the data directories), without the caller's libpq
# settings: a PGUSER/PGHOST/PGPORT in the environment (a service's login, the test stack's) would
# override where and as whom it connects.
pgbackrest_run() {
  as_pg env -u PGHOST -u PGHOSTADDR -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE -u PGSERVICE -u PGOPTIONS \
    pgbackrest --config="$PGBACKREST_CONF" "$@"
}

# Creates the stanza's repository (idempotent), then lets its WAL be archived.
pgbackrest_stanza_create() {
  local stanza="$1" lf
  lf="$(logfile_of pgbackrest)"
  pgbackrest_run --stanza="$stanza" stanza-create >> "$lf" 2>&1 \
    || fail_component pgbackrest "stanza-create $stanza failed (is its database running?)"
  touch "$(pgbackrest_ready_marker "$stanza")"
  chown "$PG_SUPERUSER:" "$(pgbackrest_ready_marker "$stanza")"
}

pgbackrest_health() {
  [[ -n "${CLINIC_BACKUP_METRICS_PORT:-}" ]] || return 1
  node "$STACK_D/probe.js" http "http://127.0.0.1:$CLINIC_BACKUP_METRICS_PORT/metrics" >/dev/null 2>&1
}

# What the agent watches: each stanza with its members' PostgreSQL ports (for pg_stat_archiver).
pgbackrest_agent_targets() {
  local s m sep="" out
  out="[{\"stanza\":\"$PGBACKREST_SERVICES_STANZA\",\"members\":[{\"name\":\"postgres\",\"port\":$CLINIC_PG_PORT}]}"
  if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
    for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
      out+=",{\"stanza\":\"$(pgbackrest_shard_stanza "$s")\",\"members\":["
      sep=""
      for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
        out+="$sep{\"name\":\"$(patroni_member_name "$s" "$m")\",\"port\":$(patroni_port "PG_${s}_${m}")}"
        sep=","
      done
      out+="]}"
    done
  fi
  printf '%s]' "$out"
}

pgbackrest_up() {
  pgbackrest_check_settings
  have pgbackrest || fail_component pgbackrest "pgbackrest not found (Debian package pgbackrest)" 0
  pg_find_bindir || fail_component pgbackrest "no PostgreSQL binaries found" 0
  postgres_health || fail_component pgbackrest "PostgreSQL (component postgres) must run first" 0
  if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
    patroni_resolve_ports 0
    patroni_health || fail_component pgbackrest "the booking shards (component patroni) must run first" 0
  fi
  local lf stanza
  lf="$(logfile_of pgbackrest)"
  touch "$lf"
  chown "$PG_SUPERUSER:" "$lf"
  pgbackrest_write_config
  pg_ensure_traversable "$PGBACKREST_DIR"
  while read -r stanza; do pgbackrest_stanza_create "$stanza"; done < <(pgbackrest_stanzas)
  if ! running_pid pgbackrest >/dev/null; then
    require_port_free pgbackrest CLINIC_BACKUP_METRICS_PORT
    (
      # Not PGBACKREST_*: pgBackRest reads every such variable as one of its options.
      export BACKUP_AGENT_CONFIG="$PGBACKREST_CONF" CLINIC_BACKUP_FULL_AT CLINIC_BACKUP_INCR_SECONDS
      export BACKUP_AGENT_PORT="$CLINIC_BACKUP_METRICS_PORT" BACKUP_AGENT_SOCKET="$(pg_socket_dir)"
      export BACKUP_AGENT_TARGETS="$(pgbackrest_agent_targets)" BACKUP_AGENT_SCHEDULE="${CLINIC_BACKUP_SCHEDULE:-on}"
      start_bg pgbackrest "$lf" node "$STACK_D/pgbackrest/backup-agent.js"
    ) || exit 1
  fi
  pgbackrest_write_scrape_targets
  wait_healthy pgbackrest 20
}

pgbackrest_write_scrape_targets() {
  local dir="$CLINIC_STATE_DIR/prometheus/targets"
  mkdir -p "$dir"
  printf '[{"targets":["127.0.0.1:%s"],"labels":{"service":"backup"}}]\n' "$CLINIC_BACKUP_METRICS_PORT" > "$dir/pgbackrest.json.tmp"
  mv -f "$dir/pgbackrest.json.tmp" "$dir/pgbackrest.json"
}

pgbackrest_down() {
  stop_bg pgbackrest
  pgbackrest_stop_scratch_all
}

# The newest backup of each stanza, as `pgbackrest info` tells it.
pgbackrest_detail() {
  pgbackrest_run info 2>/dev/null | sed -n 's/^\(stanza: .*\|    status: .*\|        \(full\|incr\|diff\) backup: .*\)$/    \1/p' | tail -n 40
}

pgbackrest_env() {
  [[ -n "${CLINIC_BACKUP_METRICS_PORT:-}" ]] || return 0
  echo "BACKUP_METRICS_URL=http://127.0.0.1:$CLINIC_BACKUP_METRICS_PORT/metrics"
  echo "PGBACKREST_CONFIG=$PGBACKREST_CONF"
}

# shellcheck source-path=SCRIPTDIR source=pgbackrest/ops.sh
source "$STACK_D/pgbackrest/ops.sh"
