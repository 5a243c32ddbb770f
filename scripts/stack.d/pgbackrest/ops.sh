# shellcheck shell=bash
# The operators' commands over pgBackRest (sourced by scripts/stack.d/pgbackrest.sh):
#
#   scripts/stack backup [--type full|diff|incr] [stanza...]
#       a backup of every stanza (default: incr; the first one of a stanza is always full), each
#       line: stanza, type, label, size, duration.
#   scripts/stack restore (--shard N | --stanza NAME) [--to TIME]
#       restores into a scratch cluster beside the running ones (its own data dir and port, never
#       archiving into the repository) and prints where it runs: to look at or copy from.
#   scripts/stack restore (--shard N | --stanza NAME) [--to TIME] --in-place
#       replaces the cluster itself: stops it, moves its data dirs aside, restores, replays WAL
#       to TIME (default: to the end of the archive), promotes, and starts it again (a shard's
#       other members are then cloned from the restored one by Patroni).
#   scripts/stack restore --stop DIR | --stop-all     stops (and deletes) scratch clusters
#
# TIME is anything PostgreSQL reads as a timestamptz, e.g. `2026-12-05 18:11:46.123+00`.

PGBACKREST_SCRATCH_DIR="$PGBACKREST_DIR/scratch"

pgbackrest_stanza_arg() {
  local shard="$1" stanza="$2"
  if [[ -n "$shard" ]]; then
    [[ "$CLINIC_BOOKING_HA" == patroni ]] || die "--shard needs the shards as Patroni clusters (CLINIC_BOOKING_HA=patroni); with none they are in stanza $PGBACKREST_SERVICES_STANZA"
    [[ "$shard" =~ ^[0-9]+$ ]] && ((shard < CLINIC_BOOKING_SHARDS)) || die "--shard must be 0..$((CLINIC_BOOKING_SHARDS - 1)), got '$shard'"
    pgbackrest_shard_stanza "$shard"
  else
    pgbackrest_configured_stanzas | grep -qxF -- "$stanza" || die "unknown stanza '$stanza' (known: $(pgbackrest_configured_stanzas | paste -sd' ' -))"
    printf '%s' "$stanza"
  fi
}

# The stanzas of this state dir's configuration (what `up` wrote, whatever this shell's settings).
pgbackrest_configured_stanzas() {
  sed -n 's/^\[\(.*\)\]$/\1/p' "$PGBACKREST_CONF" | grep -vx global
}

pgbackrest_prepare_ops() {
  resolve_ports 0
  [[ "$CLINIC_BOOKING_HA" == patroni ]] && patroni_resolve_ports 0
  [[ -f "$PGBACKREST_CONF" ]] || die "no backup configuration yet: run scripts/stack up pgbackrest first"
  pg_find_bindir || die "no PostgreSQL binaries found"
}

# One line about the newest backup of a stanza.
pgbackrest_describe_last() {
  pgbackrest_run --stanza="$1" --output=json info | node -e '
    let text = ""; process.stdin.on("data", (d) => (text += d)).on("end", () => {
      const b = JSON.parse(text)[0].backup.at(-1);
      if (!b) { console.log("no backup"); return; }
      const mb = (n) => (n / 1048576).toFixed(1) + " MB";
      console.log(`${b.type} ${b.label} database ${mb(b.info.size)}, stored ${mb(b.info.repository.delta)}, ` +
        `${b.timestamp.stop - b.timestamp.start} s, WAL ${b.archive.start}..${b.archive.stop}`);
    });'
}

cmd_backup() {
  local type=incr stanzas=() stanza
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --type) type="${2:-}"; shift 2 ;;
      --type=*) type="${1#--type=}"; shift ;;
      -*) die "backup: unknown option $1 (usage: scripts/stack backup [--type full|diff|incr] [stanza...])" ;;
      *) stanzas+=("$1"); shift ;;
    esac
  done
  pgbackrest_prepare_ops
  for stanza in "${stanzas[@]}"; do pgbackrest_stanza_arg "" "$stanza" >/dev/null; done
  [[ "$type" == full || "$type" == diff || "$type" == incr ]] || die "backup: --type must be full, diff or incr, got '$type'"
  [[ ${#stanzas[@]} -gt 0 ]] || mapfile -t stanzas < <(pgbackrest_configured_stanzas)
  local start rc deadline
  for stanza in "${stanzas[@]}"; do
    start=$SECONDS
    deadline=$((SECONDS + 600))
    while true; do
      rc=0
      pgbackrest_run --stanza="$stanza" --type="$type" backup >> "$(logfile_of pgbackrest)" 2>&1 || rc=$?
      # 50: another backup of the stanza (the agent's schedule) holds its lock: wait for it.
      [[ "$rc" -eq 50 && $SECONDS -lt $deadline ]] || break
      sleep 2
    done
    [[ "$rc" -eq 0 ]] || { tail -n 20 "$(logfile_of pgbackrest)" >&2; die "backup of $stanza failed (exit $rc; log: $(logfile_of pgbackrest), $PGBACKREST_DIR/log/)"; }
    printf '%-10s %s (%s s in all)\n' "$stanza" "$(pgbackrest_describe_last "$stanza")" "$((SECONDS - start))"
  done
}

# Starts PostgreSQL on a restored data dir, lets it replay the archive to its target and promote,
# and leaves it running (scratch) or stops it again (in place, for its own component to start).
# The standby's recovery settings that came with the files are overridden: a restored cluster
# must read WAL from the repository only, never stream from the live cluster. So are the settings
# that name another member's data directory: a shard's configuration files come from whichever
# member was primary at the backup (its pg_hba.conf path, its archive_command), not necessarily
# the one restored into. $5, in place: the stanza the promoted cluster archives into again (the
# timeline history file and the last segment of the old timeline must reach the repository).
pgbackrest_recover() {
  local data="$1" port="$2" keep="$3" lf="$4" stanza="${5:-}" sock deadline state archive=""
  sock="$(pg_socket_dir)"
  # pg_ctl hands -o to a shell: each setting is one word quoted for it (printf %q), whatever the
  # paths contain.
  if [[ -n "$stanza" ]]; then printf -v archive -- '-c %q' "archive_command=$(pgbackrest_archive_command "$stanza" "$data")"; fi
  local paths
  printf -v paths -- '-c %q ' "unix_socket_directories=$sock" "hba_file=$data/pg_hba.conf" "ident_file=$data/pg_ident.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$lf" -w -t 600 -s start \
    -o "-c port=$port -c listen_addresses=127.0.0.1 $paths-c primary_conninfo='' -c primary_slot_name='' -c synchronous_standby_names='' -c hot_standby=on $archive" \
    >> "$lf" 2>&1 8>&- || { tail -n 20 "$lf" >&2; die "restore: PostgreSQL did not start on the restored data (log: $lf)"; }
  deadline=$((SECONDS + 1800))
  while true; do
    state="$("$PG_BIN/psql" -X -At -h "$sock" -p "$port" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null || true)"
    [[ "$state" == f ]] && break
    if [[ ! -f "$data/postmaster.pid" ]]; then tail -n 20 "$lf" >&2; die "restore: PostgreSQL stopped during recovery (log: $lf)"; fi
    ((SECONDS < deadline)) || die "restore: still recovering after 30 min (log: $lf)"
    sleep 0.3
  done
  if [[ "$keep" == 0 ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$data" -w -t 120 -s -m fast stop >> "$lf" 2>&1 || die "restore: could not stop the recovered PostgreSQL (log: $lf)"
  fi
}

pgbackrest_restore_target_args() {
  local to="$1"
  if [[ -n "$to" ]]; then printf '%s\n' --type=time "--target=$to" --target-action=promote; fi
}

pgbackrest_restore_scratch() {
  local stanza="$1" to="$2" dir data port lf start args=()
  start=$SECONDS
  dir="$PGBACKREST_SCRATCH_DIR/$stanza-$(date -u +%Y%m%dT%H%M%S)"
  data="$dir/data"
  install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PGBACKREST_SCRATCH_DIR" "$dir" "$data"
  lf="$dir/postgresql.log"
  touch "$lf"
  chown "$PG_SUPERUSER:" "$lf"
  mapfile -t args < <(pgbackrest_restore_target_args "$to")
  # --archive-mode=off: the scratch cluster's own WAL must never reach the repository.
  pgbackrest_run --stanza="$stanza" --pg1-path="$data" --archive-mode=off "${args[@]}" restore >> "$lf" 2>&1 \
    || { tail -n 20 "$lf" >&2; die "restore of $stanza failed (log: $lf)"; }
  read -r port <<< "$(pick_free_ports 1)"
  pgbackrest_recover "$data" "$port" 1 "$lf"
  printf 'restored %s to %s into a scratch cluster in %s s\n' "$stanza" "${to:-the end of the archive}" "$((SECONDS - start))"
  printf '  PostgreSQL at 127.0.0.1:%s (the original logins), data %s\n' "$port" "$data"
  printf '  stop and delete it: scripts/stack restore --stop %s\n' "$dir"
  printf 'scratch port=%s dir=%s seconds=%s\n' "$port" "$dir" "$((SECONDS - start))"
}

# Data dirs are moved here, never deleted: an in-place restore to the wrong time must not cost
# the data it replaced.
pgbackrest_move_aside() {
  local data="$1" name="$2" aside
  [[ -e "$data" ]] || return 0
  aside="$PGBACKREST_DIR/aside/$name-$(date -u +%Y%m%dT%H%M%S)"
  mkdir -p "$PGBACKREST_DIR/aside"
  mv "$data" "$aside"
  log "restore: moved $data aside to $aside"
}

pgbackrest_restore_in_place() {
  local stanza="$1" to="$2" start args=() lf
  start=$SECONDS
  lf="$(logfile_of pgbackrest)"
  mapfile -t args < <(pgbackrest_restore_target_args "$to")
  if [[ "$stanza" == "$PGBACKREST_SERVICES_STANZA" ]]; then
    stop_bg postgres INT
    pgbackrest_move_aside "$PG_DATA" postgres-data
    install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PG_DATA"
    pgbackrest_run --stanza="$stanza" "${args[@]}" restore >> "$lf" 2>&1 || { tail -n 20 "$lf" >&2; die "restore of $stanza failed (log: $lf)"; }
    pgbackrest_recover "$PG_DATA" "$CLINIC_PG_PORT" 0 "$(logfile_of postgres)" "$stanza"
    postgres_up
  else
    local s="${stanza#booking-}" m name
    load_component etcd
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
      name="$(patroni_member_name "$s" "$m")"
      stop_bg "$name" TERM 60
      local pid
      if pid="$(patroni_orphan_postmaster "$s" "$m")"; then kill -INT "$pid" 2>/dev/null || true; sleep 2; fi
    done
    # The cluster's keys in etcd (leader, initialize with the old system id, members): a
    # restored cluster is a new one to Patroni, which takes the restored data dir as it finds it.
    node -e '
      fetch(process.argv[1], { method: "DELETE", signal: AbortSignal.timeout(5000) })
        .then((r) => process.exit(r.ok || r.status === 404 ? 0 : 1)).catch(() => process.exit(1));' \
      "http://127.0.0.1:$CLINIC_ETCD_PORT/v2/keys/clinic/$(patroni_scope "$s")?recursive=true" \
      || die "restore: could not remove $(patroni_scope "$s") from etcd"
    for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
      name="$(patroni_member_name "$s" "$m")"
      pgbackrest_move_aside "$PATRONI_DIR/$name/data" "$name-data"
    done
    name="$(patroni_member_name "$s" 0)"
    install -d -o "$PG_SUPERUSER" -g "$PG_SUPERUSER" -m 0700 "$PATRONI_DIR/$name/data"
    pgbackrest_run --stanza="$stanza" "${args[@]}" restore >> "$lf" 2>&1 || { tail -n 20 "$lf" >&2; die "restore of $stanza failed (log: $lf)"; }
    pgbackrest_recover "$PATRONI_DIR/$name/data" "$(patroni_port "PG_${s}_0")" 0 "$(logfile_of "$name")" "$stanza"
    # Member 0 alone until it leads: it writes the restored system id into etcd as the cluster's
    # `initialize` key. Started beside it, a member with an empty data dir can take that key
    # first and initdb a new cluster, and member 0 then stops ("belongs to a different cluster").
    patroni_resolve_ports 0
    patroni_secrets
    patroni_start_member "$s" 0
    local deadline=$((SECONDS + 120))
    until [[ "$(patroni_leader_of "$s")" == 0 ]]; do
      running_pid "$name" >/dev/null || die "restore: $name exited before leading the restored shard (log: $(logfile_of "$name"))"
      ((SECONDS < deadline)) || die "restore: $name did not lead the restored shard within 120 s (log: $(logfile_of "$name"))"
      sleep 0.5
    done
    patroni_up
  fi
  printf 'restored %s in place to %s in %s s\n' "$stanza" "${to:-the end of the archive}" "$((SECONDS - start))"
  printf 'in-place stanza=%s seconds=%s\n' "$stanza" "$((SECONDS - start))"
}

pgbackrest_stop_scratch() {
  local dir="$1"
  [[ "$dir" == "$PGBACKREST_SCRATCH_DIR"/* && -d "$dir" ]] || die "restore --stop: $dir is not a scratch cluster under $PGBACKREST_SCRATCH_DIR"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -w -t 60 -s -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  printf 'stopped and deleted %s\n' "$dir"
}

pgbackrest_stop_scratch_all() {
  local dir
  [[ -d "$PGBACKREST_SCRATCH_DIR" ]] || return 0
  pg_find_bindir || return 0
  for dir in "$PGBACKREST_SCRATCH_DIR"/*/; do
    [[ -d "$dir" ]] && pgbackrest_stop_scratch "${dir%/}" >/dev/null
  done
  return 0
}

cmd_restore() {
  local shard="" stanza="" to="" in_place=0 stop=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --shard) shard="${2:-}"; shift 2 ;;
      --stanza) stanza="${2:-}"; shift 2 ;;
      --to) to="${2:-}"; shift 2 ;;
      --in-place) in_place=1; shift ;;
      --stop) stop="${2:-}"; shift 2 ;;
      --stop-all) stop=all; shift ;;
      *) die "restore: unknown argument '$1' (usage: scripts/stack restore (--shard N | --stanza NAME) [--to TIME] [--in-place] | --stop DIR | --stop-all)" ;;
    esac
  done
  pgbackrest_prepare_ops
  if [[ -n "$stop" ]]; then
    if [[ "$stop" == all ]]; then pgbackrest_stop_scratch_all; else pgbackrest_stop_scratch "$(realpath -m -- "$stop")"; fi
    return 0
  fi
  [[ -n "$shard" || -n "$stanza" ]] || die "restore: name what to restore: --shard N or --stanza NAME"
  [[ -z "$shard" || -z "$stanza" ]] || die "restore: --shard and --stanza exclude each other"
  stanza="$(pgbackrest_stanza_arg "$shard" "$stanza")"
  if [[ -n "$to" ]] && postgres_health; then
    # Checked by PostgreSQL itself, so a typo fails here and not half-way through a restore.
    # (psql interpolates variables in its input, not in -c.)
    printf "SELECT :'t'::timestamptz;\n" | "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$CLINIC_PG_PORT" -U postgres -d postgres -v "t=$to" >/dev/null 2>&1 \
      || die "restore: --to '$to' is not a time PostgreSQL understands (e.g. '2026-12-05 18:11:46+00')"
  fi
  if [[ "$in_place" == 1 ]]; then
    take_lock
    pgbackrest_restore_in_place "$stanza" "$to"
  else
    pgbackrest_restore_scratch "$stanza" "$to"
  fi
}
