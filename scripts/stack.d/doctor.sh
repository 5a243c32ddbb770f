# shellcheck shell=bash
# The doctor service (gRPC), started from its compiled output.

doctor_addr() { printf '127.0.0.1:%s' "${CLINIC_DOCTOR_PORT:--}"; }
doctor_health() { grpc_serving "${CLINIC_DOCTOR_PORT:-0}"; }
doctor_up() {
  node_service_up doctor 60 GRPC_PORT="$CLINIC_DOCTOR_PORT" METRICS_PORT="$CLINIC_DOCTOR_METRICS_PORT" PGDATABASE=clinic_doctor
}
doctor_env() {
  echo "DOCTOR_ADDR=127.0.0.1:$CLINIC_DOCTOR_PORT"
}
