# shellcheck shell=bash
# Redis: a cache/lock store only, so nothing is persisted to disk.

REDIS_DIR="$CLINIC_STATE_DIR/redis"

redis_addr() { printf '127.0.0.1:%s' "${CLINIC_REDIS_PORT:--}"; }

redis_apt() {
  # redis-tools (redis-cli) comes in as a dependency of redis-server.
  if ! have redis-server || ! have redis-cli; then echo redis-server; fi
}

redis_health() {
  [[ -n "${CLINIC_REDIS_PORT:-}" ]] && have redis-cli || return 1
  [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$CLINIC_REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_up() {
  have redis-server || fail_component redis "redis-server not found (Debian package redis-server)" 0
  if ! running_pid redis >/dev/null; then
    require_port_free redis CLINIC_REDIS_PORT
    mkdir -p "$REDIS_DIR"
    # Foreground (--daemonize no) under start_bg: the recorded pid is the
    # server itself, and its log goes to stdout, i.e. our log file.
    start_bg redis "$(logfile_of redis)" redis-server \
      --bind 127.0.0.1 --port "$CLINIC_REDIS_PORT" \
      --protected-mode yes \
      --save '' --appendonly no \
      --daemonize no --logfile '' \
      --dir "$REDIS_DIR"
  fi
  wait_healthy redis 10
}

redis_env() {
  echo "REDIS_URL=redis://127.0.0.1:$CLINIC_REDIS_PORT"
}
