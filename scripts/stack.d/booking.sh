# shellcheck shell=bash
# The booking service (gRPC), started from its compiled output.

booking_addr() { printf '127.0.0.1:%s' "${CLINIC_BOOKING_PORT:--}"; }
booking_health() { grpc_serving "${CLINIC_BOOKING_PORT:-0}"; }
booking_up() {
  load_component postgres # for the shard database names
  node_service_up booking 60 GRPC_PORT="$CLINIC_BOOKING_PORT" METRICS_PORT="$CLINIC_BOOKING_METRICS_PORT" BOOKING_SHARDS="$(pg_shard_dbs | paste -sd, -)"
}
booking_env() {
  echo "BOOKING_ADDR=127.0.0.1:$CLINIC_BOOKING_PORT"
}
