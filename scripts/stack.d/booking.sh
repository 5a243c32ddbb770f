# shellcheck shell=bash
# The booking service (gRPC), started from its compiled output.

# With Patroni, the shards' components come along (their ports must be known before `up` resolves
# ports, so they are loaded with this file).
if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
  load_component etcd
  load_component patroni
  load_component haproxy
fi

booking_addr() { printf '127.0.0.1:%s' "${CLINIC_BOOKING_PORT:--}"; }
booking_health() { grpc_serving "${CLINIC_BOOKING_PORT:-0}"; }
booking_up() {
  load_component postgres # for the shard database names
  if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
    # The shards' clusters and their addresses come first (each a no-op when already up).
    local c
    for c in etcd patroni haproxy; do
      "${c}_health" >/dev/null 2>&1 || "${c}_up"
    done
    node_service_up booking 60 GRPC_PORT="$CLINIC_BOOKING_PORT" METRICS_PORT="$CLINIC_BOOKING_METRICS_PORT" \
      BOOKING_SHARDS="$(booking_shard_entries PRIMARY)" BOOKING_SHARD_REPLICAS="$(booking_shard_entries REPLICA)"
  else
    node_service_up booking 60 GRPC_PORT="$CLINIC_BOOKING_PORT" METRICS_PORT="$CLINIC_BOOKING_METRICS_PORT" \
      BOOKING_SHARDS="$(booking_shard_entries PRIMARY)"
  fi
}
booking_env() {
  echo "BOOKING_ADDR=127.0.0.1:$CLINIC_BOOKING_PORT"
}
