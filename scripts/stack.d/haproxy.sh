# shellcheck shell=bash
# HAProxy: a stable address per booking shard and role that follows failover. Each member is
# health-checked on Patroni's REST API: the primary address sends connections to the member
# answering 200 on /primary, the replica address to members answering 200 on
# /replica?lag=<max> (falling back to the primary when no replica qualifies). When a member is
# marked down, `on-marked-down shutdown-sessions` cuts its client connections, so a demoted or
# frozen primary keeps none: the services' pools see a reset and dial the new primary.
# Stats and Prometheus metrics on CLINIC's HAPROXY_STATS port (/stats, /metrics).

HAPROXY_DIR="$CLINIC_STATE_DIR/haproxy"
HAPROXY_CONFIG="$HAPROXY_DIR/haproxy.cfg"
# Replicas this far behind (bytes of WAL) stop taking reads.
HAPROXY_REPLICA_MAX_LAG="${CLINIC_REPLICA_MAX_LAG_BYTES:-16777216}"

haproxy_apt() { have haproxy || echo haproxy; }

haproxy_addr() {
  load_component patroni
  patroni_resolve_ports 0
  if [[ -n "${PATRONI_PORT[HAPROXY_STATS]:-}" ]]; then
    printf 'primaries %s, stats http://127.0.0.1:%s/stats' "$(patroni_shard_entries PRIMARY)" "${PATRONI_PORT[HAPROXY_STATS]}"
  else
    printf -- '-'
  fi
}

haproxy_health() {
  load_component patroni
  patroni_resolve_ports 0
  [[ -n "${PATRONI_PORT[HAPROXY_STATS]:-}" ]] || return 1
  node "$STACK_D/probe.js" http "http://127.0.0.1:${PATRONI_PORT[HAPROXY_STATS]}/metrics" >/dev/null 2>&1
}

# Every member of shard $1 as a server of a backend, checked on its Patroni REST port.
haproxy_servers() {
  local s="$1" m
  for ((m = 0; m < $(patroni_members_of "$s"); m++)); do
    printf '  server %s 127.0.0.1:%s check port %s\n' "$(patroni_member_name "$s" "$m")" \
      "$(patroni_port "PG_${s}_${m}")" "$(patroni_port "REST_${s}_${m}")"
  done
}

haproxy_write_config() {
  local s
  mkdir -p "$HAPROXY_DIR"
  {
    cat <<EOF
# Written by scripts/stack on every start; edit scripts/stack.d/haproxy.sh, not this file.
global
  maxconn 4000
  log stdout format raw local0 info

defaults
  mode tcp
  log global
  option tcplog
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
  # OPTIONS: Patroni answers with the status alone (a GET's body, cut off by HAProxy, fills
  # Patroni's log with connection resets). A check every second, two failures to mark down: a dead primary leaves the rotation within
  # about 2 s of Patroni no longer answering 200, well inside the leader TTL.
  default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions

frontend stats
  mode http
  bind 127.0.0.1:$(patroni_port HAPROXY_STATS)
  http-request use-service prometheus-exporter if { path /metrics }
  stats enable
  stats uri /stats
  stats refresh 2s
EOF
    for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
      printf '\nlisten booking-%s-primary\n  bind 127.0.0.1:%s\n  option httpchk\n  http-check send meth OPTIONS uri /primary\n  http-check expect status 200\n' \
        "$s" "$(patroni_port "PRIMARY_${s}")"
      haproxy_servers "$s"
      printf '\nfrontend booking-%s-replica\n  bind 127.0.0.1:%s\n  use_backend booking-%s-replicas if { nbsrv(booking-%s-replicas) gt 0 }\n  default_backend booking-%s-primary-fallback\n' \
        "$s" "$(patroni_port "REPLICA_${s}")" "$s" "$s" "$s"
      printf '\nbackend booking-%s-replicas\n  balance leastconn\n  option httpchk\n  http-check send meth OPTIONS uri /replica?lag=%s\n  http-check expect status 200\n' \
        "$s" "$HAPROXY_REPLICA_MAX_LAG"
      haproxy_servers "$s"
      printf '\nbackend booking-%s-primary-fallback\n  option httpchk\n  http-check send meth OPTIONS uri /primary\n  http-check expect status 200\n' "$s"
      haproxy_servers "$s"
    done
  } > "$HAPROXY_CONFIG.tmp"
  haproxy -c -q -f "$HAPROXY_CONFIG.tmp" >> "$(logfile_of haproxy)" 2>&1 \
    || fail_component haproxy "haproxy -c rejected $HAPROXY_CONFIG.tmp"
  mv -f "$HAPROXY_CONFIG.tmp" "$HAPROXY_CONFIG"
}

haproxy_write_scrape_targets() {
  local dir="$CLINIC_STATE_DIR/prometheus/targets"
  mkdir -p "$dir"
  printf '[{"targets":["127.0.0.1:%s"],"labels":{"service":"haproxy"}}]\n' "$(patroni_port HAPROXY_STATS)" > "$dir/haproxy.json.tmp"
  mv -f "$dir/haproxy.json.tmp" "$dir/haproxy.json"
}

haproxy_up() {
  have haproxy || fail_component haproxy "haproxy not found (Debian package haproxy)" 0
  load_component patroni
  patroni_check_settings
  patroni_resolve_ports 1
  # pg_isready below; found by patroni_up when both start in one run, not when haproxy starts alone.
  pg_find_bindir || fail_component haproxy "no PostgreSQL client binaries found" 0
  if ! running_pid haproxy >/dev/null; then
    local s
    require_port_free haproxy "PATRONI_PORT[HAPROXY_STATS]"
    for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
      require_port_free haproxy "PATRONI_PORT[PRIMARY_${s}]"
      require_port_free haproxy "PATRONI_PORT[REPLICA_${s}]"
    done
    haproxy_write_config
    # -db: foreground, logs to stdout (our log file); -W is not needed without reloads.
    start_bg haproxy "$(logfile_of haproxy)" haproxy -db -f "$HAPROXY_CONFIG"
  fi
  haproxy_write_scrape_targets
  wait_healthy haproxy 15
  # Each shard's primary address must lead to a primary before the services use it.
  local deadline=$((SECONDS + 30)) s
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do
    until PGCONNECT_TIMEOUT=2 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(patroni_port "PRIMARY_${s}")" 2>/dev/null; do
      ((SECONDS < deadline)) || fail_component haproxy "shard $s: no primary behind 127.0.0.1:$(patroni_port "PRIMARY_${s}") after 30 s"
      sleep 0.3
    done
  done
}

haproxy_env() {
  load_component patroni
  patroni_resolve_ports 0
  [[ -n "${PATRONI_PORT[HAPROXY_STATS]:-}" ]] || return 0
  echo "HAPROXY_STATS_URL=http://127.0.0.1:${PATRONI_PORT[HAPROXY_STATS]}/stats"
}
