# shellcheck shell=bash
# The notifier (Kafka consumer + admin gRPC), sending to the local sinks.

notifier_addr() { grpc_service_addr notifier; }
notifier_health() { grpc_service_health notifier; }
notifier_up() {
  grpc_service_up notifier 90 PGDATABASE=clinic_notifier SMTP_HOST=127.0.0.1 SMTP_PORT="$CLINIC_SMTP_PORT" \
    SMTP_FROM="Clinic <notify@clinic.localhost>" SMS_PROVIDER_URL="http://127.0.0.1:$CLINIC_SMS_PORT/messages"
}
notifier_env() { grpc_service_env notifier; }
