# shellcheck shell=bash
# Prometheus: scrapes every service's /metrics every 5 s and evaluates the alert rules of
# deploy/observability/prometheus/alerts.yml. The binary comes from Debian's `prometheus`
# package (2.42 on bookworm), but the package's system service is never used: this is our own
# process, on loopback, with its config and data in the state dir. Alerts show on /classic/alerts
# (Debian's build serves the classic UI only) and via the API; no Alertmanager runs locally.
# After editing alerts.yml:
#   curl -X POST "$PROMETHEUS_URL/-/reload"   (loopback only, hence --web.enable-lifecycle)

# shellcheck source-path=SCRIPTDIR source=prometheus/no-autostart.sh
source "$STACK_D/prometheus/no-autostart.sh"

PROMETHEUS_DIR="$CLINIC_STATE_DIR/prometheus"
PROMETHEUS_CONFIG="$PROMETHEUS_DIR/prometheus.yml"
PROMETHEUS_DATA="$PROMETHEUS_DIR/data"
PROMETHEUS_TEMPLATE="$REPO_ROOT/deploy/observability/prometheus/prometheus.local.yml.tmpl"
# shellcheck disable=SC2034 # read as ${!var} by prometheus_write_config
PROMETHEUS_RULES="$REPO_ROOT/deploy/observability/prometheus/alerts.yml"

prometheus_addr() { printf 'http://127.0.0.1:%s' "${CLINIC_PROMETHEUS_PORT:--}"; }

prometheus_apt() {
  if ! have prometheus || ! have promtool; then
    # Runs just before the shared apt-get install; prometheus_up takes the policy away again.
    prometheus_block_autostart
    echo prometheus
  fi
}

prometheus_health() {
  [[ -n "${CLINIC_PROMETHEUS_PORT:-}" ]] || return 1
  node "$STACK_D/probe.js" http "http://127.0.0.1:$CLINIC_PROMETHEUS_PORT/-/ready" >/dev/null 2>&1
}

# Prints the template rendered with the stack's ports; every placeholder must be known.
# VictoriaMetrics scrapes with the same rendering (victoriametrics.sh), so both see one config.
prometheus_render_config() {
  local text var placeholder
  text="$(cat "$PROMETHEUS_TEMPLATE")" || fail_component prometheus "cannot read $PROMETHEUS_TEMPLATE" 0
  for var in PROMETHEUS_RULES CLINIC_STATE_DIR CLINIC_PROMETHEUS_PORT CLINIC_EDGE_METRICS_PORT CLINIC_DOCTOR_METRICS_PORT \
    CLINIC_SLOT_METRICS_PORT CLINIC_BOOKING_METRICS_PORT CLINIC_NOTIFIER_METRICS_PORT; do
    [[ -n "${!var:-}" ]] || fail_component prometheus "$var is not set" 0
    placeholder="\${$var}"
    text="${text//"$placeholder"/${!var}}"
  done
  # shellcheck disable=SC2016 # a literal ${
  if grep -v '^[[:space:]]*#' <<< "$text" | grep -q '\${'; then
    # shellcheck disable=SC2016
    fail_component prometheus "unknown placeholder left in $PROMETHEUS_TEMPLATE: $(grep -v '^[[:space:]]*#' <<< "$text" | grep -o '\${[^}]*}' | head -n 1)" 0
  fi
  printf '%s\n' "$text"
}

prometheus_write_config() {
  local text
  mkdir -p "$PROMETHEUS_DIR" "$PROMETHEUS_DATA"
  text="$(prometheus_render_config)" || exit 1
  printf '%s\n' "$text" > "$PROMETHEUS_CONFIG.tmp"
  mv -f "$PROMETHEUS_CONFIG.tmp" "$PROMETHEUS_CONFIG"
  # Checks the rule file too; a broken rule would otherwise only show in the log.
  promtool check config "$PROMETHEUS_CONFIG" >> "$(logfile_of prometheus)" 2>&1 \
    || fail_component prometheus "promtool check config $PROMETHEUS_CONFIG failed" log
}

prometheus_up() {
  prometheus_unblock_autostart
  if ! have prometheus || ! have promtool; then
    fail_component prometheus "prometheus/promtool not found (Debian package prometheus)" 0
  fi
  if ! running_pid prometheus >/dev/null; then
    require_port_free prometheus CLINIC_PROMETHEUS_PORT
    prometheus_write_config
    start_bg prometheus "$(logfile_of prometheus)" prometheus \
      --config.file="$PROMETHEUS_CONFIG" \
      --storage.tsdb.path="$PROMETHEUS_DATA" \
      --storage.tsdb.retention.time=2d \
      --web.listen-address="127.0.0.1:$CLINIC_PROMETHEUS_PORT" \
      --web.enable-lifecycle
  fi
  wait_healthy prometheus 30
}

# Only while it runs: stack.env is also written after `up` of a few components.
prometheus_env() {
  running_pid prometheus >/dev/null || return 0
  echo "PROMETHEUS_URL=http://127.0.0.1:$CLINIC_PROMETHEUS_PORT"
  echo "PROMETHEUS_ALERTS_URL=http://127.0.0.1:$CLINIC_PROMETHEUS_PORT/classic/alerts"
}
