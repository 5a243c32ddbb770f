# shellcheck shell=bash
# The slot service (gRPC), started from its compiled output.

slot_addr() { printf '127.0.0.1:%s' "${CLINIC_SLOT_PORT:--}"; }
slot_health() { grpc_serving "${CLINIC_SLOT_PORT:-0}"; }
slot_up() {
  node_service_up slot 60 GRPC_PORT="$CLINIC_SLOT_PORT" METRICS_PORT="$CLINIC_SLOT_METRICS_PORT" PGDATABASE=clinic_slot
}
slot_env() {
  echo "SLOT_ADDR=127.0.0.1:$CLINIC_SLOT_PORT"
}
