# shellcheck shell=bash
# etcd: the distributed configuration store (DCS) of the booking shards' Patroni clusters: the
# leader key of each shard lives here. One member on loopback locally (the chart runs three);
# Debian's etcd-server package, never its system service. The v2 API is on: Patroni uses it (see
# patroni.sh for why).

PORT_DEFAULTS+=(CLINIC_ETCD_PORT:12379 CLINIC_ETCD_PEER_PORT:12380)
ETCD_DIR="$CLINIC_STATE_DIR/etcd"

etcd_addr() { printf 'http://127.0.0.1:%s' "${CLINIC_ETCD_PORT:--}"; }

etcd_apt() {
  have etcd || echo etcd-server
}

etcd_health() {
  [[ -n "${CLINIC_ETCD_PORT:-}" ]] || return 1
  node "$STACK_D/probe.js" http "http://127.0.0.1:$CLINIC_ETCD_PORT/health" >/dev/null 2>&1
}

etcd_up() {
  have etcd || fail_component etcd "etcd not found (Debian package etcd-server)" 0
  if ! running_pid etcd >/dev/null; then
    require_port_free etcd CLINIC_ETCD_PORT
    require_port_free etcd CLINIC_ETCD_PEER_PORT
    mkdir -p "$ETCD_DIR"
    chmod 700 "$ETCD_DIR"
    local peer="http://127.0.0.1:$CLINIC_ETCD_PEER_PORT" client="http://127.0.0.1:$CLINIC_ETCD_PORT"
    start_bg etcd "$(logfile_of etcd)" etcd \
      --name=clinic --data-dir="$ETCD_DIR/data" \
      --listen-client-urls="$client" --advertise-client-urls="$client" \
      --listen-peer-urls="$peer" --initial-advertise-peer-urls="$peer" \
      --initial-cluster="clinic=$peer" --initial-cluster-state=new \
      --initial-cluster-token="clinic-$(basename "$CLINIC_STATE_DIR")" \
      --enable-v2=true --auto-compaction-retention=1 --quota-backend-bytes=268435456 \
      --logger=zap --log-outputs=stderr
  fi
  wait_healthy etcd 30
}

etcd_env() {
  [[ -n "${CLINIC_ETCD_PORT:-}" ]] || return 0
  echo "ETCD_URL=http://127.0.0.1:$CLINIC_ETCD_PORT"
}
