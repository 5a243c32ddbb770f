# shellcheck shell=bash
# The booking service (gRPC), started from its compiled output.

# With Patroni, the shards' components come along (their ports must be known before `up` resolves
# ports, so they are loaded with this file).
if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
  load_component etcd
  load_component patroni
  load_component haproxy
  load_component pgbouncer
fi
# With Patroni, transactions go through PgBouncer (pgbouncer.sh) unless CLINIC_BOOKING_POOLER=none.
CLINIC_BOOKING_POOLER="${CLINIC_BOOKING_POOLER:-pgbouncer}"
[[ "$CLINIC_BOOKING_POOLER" == pgbouncer || "$CLINIC_BOOKING_POOLER" == none ]] \
  || die "CLINIC_BOOKING_POOLER must be pgbouncer or none, got '$CLINIC_BOOKING_POOLER'"

# Each shard's pooled address: its database at PgBouncer.
booking_pooled_entries() {
  local s out=()
  for ((s = 0; s < CLINIC_BOOKING_SHARDS; s++)); do out+=("127.0.0.1:$CLINIC_PGBOUNCER_PORT/clinic_booking_$s"); done
  local IFS=,
  printf '%s' "${out[*]}"
}

booking_addr() { grpc_service_addr booking; }
booking_health() { grpc_service_health booking; }
booking_up() {
  load_component postgres # for the shard database names
  if [[ "$CLINIC_BOOKING_HA" == patroni ]]; then
    # The shards' clusters and their addresses come first (each a no-op when already up).
    local c shards sessions=""
    for c in etcd patroni haproxy; do
      "${c}_health" >/dev/null 2>&1 || "${c}_up"
    done
    shards="$(booking_shard_entries PRIMARY)"
    if [[ "$CLINIC_BOOKING_POOLER" == pgbouncer ]]; then
      pgbouncer_health >/dev/null 2>&1 || pgbouncer_up
      # Sessions (LISTEN, migrations) keep the direct primary address; transactions are pooled.
      sessions="$shards"
      shards="$(booking_pooled_entries)"
    fi
    grpc_service_up booking 60 BOOKING_SHARDS="$shards" BOOKING_SHARD_SESSIONS="$sessions" \
      BOOKING_SHARD_REPLICAS="$(booking_shard_entries REPLICA)"
  else
    grpc_service_up booking 60 BOOKING_SHARDS="$(booking_shard_entries PRIMARY)"
  fi
}
booking_env() { grpc_service_env booking; }
