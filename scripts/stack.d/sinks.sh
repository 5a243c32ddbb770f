# shellcheck shell=bash
# Local SMTP server and SMS endpoint for the notifier (dev-sinks.js): every message lands as one
# JSON line in logs/sinks.log (`scripts/stack logs sinks -f`).

sinks_addr() { printf 'smtp 127.0.0.1:%s, sms http://127.0.0.1:%s' "${CLINIC_SMTP_PORT:--}" "${CLINIC_SMS_PORT:--}"; }
sinks_health() {
  port_open 127.0.0.1 "${CLINIC_SMTP_PORT:-}" && node "$STACK_D/probe.js" http "http://127.0.0.1:${CLINIC_SMS_PORT:-0}/healthz" >/dev/null 2>&1
}
sinks_up() {
  ensure_build
  if ! running_pid sinks >/dev/null; then
    require_port_free sinks CLINIC_SMTP_PORT
    require_port_free sinks CLINIC_SMS_PORT
    start_bg sinks "$(logfile_of sinks)" node "$STACK_D/dev-sinks.js" "$CLINIC_SMTP_PORT" "$CLINIC_SMS_PORT"
  fi
  wait_healthy sinks 15
}
