# shellcheck shell=bash
# The notifier (Kafka consumer + admin gRPC), sending to the local sinks.

notifier_addr() { printf '127.0.0.1:%s' "${CLINIC_NOTIFIER_PORT:--}"; }
notifier_health() { grpc_serving "${CLINIC_NOTIFIER_PORT:-0}"; }
notifier_up() {
  node_service_up notifier 90 GRPC_PORT="$CLINIC_NOTIFIER_PORT" METRICS_PORT="$CLINIC_NOTIFIER_METRICS_PORT" \
    PGDATABASE=clinic_notifier SMTP_HOST=127.0.0.1 SMTP_PORT="$CLINIC_SMTP_PORT" \
    SMTP_FROM="Clinic <notify@clinic.localhost>" SMS_PROVIDER_URL="http://127.0.0.1:$CLINIC_SMS_PORT/messages"
}
notifier_env() {
  echo "NOTIFIER_ADDR=127.0.0.1:$CLINIC_NOTIFIER_PORT"
}
