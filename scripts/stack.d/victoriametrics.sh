# shellcheck shell=bash
# VictoriaMetrics single-node: the local dashboards. Its built-in UI (vmui, at /vmui/) shows the
# platform's dashboards under "Dashboards"; they are generated from the same source as the
# Grafana dashboards of the cluster (deploy/observability/dashboards/, see its README), into the
# state dir on every start. It scrapes the services with the very config Prometheus uses (the
# rendered prometheus.local.yml.tmpl) plus Prometheus's ALERTS series over /federate, so the
# dashboards' "firing alerts" panel counts what Prometheus evaluates. Prometheus stays the
# alerting engine and its /alerts page the alerts console.
#
# The binary is built from the Go module proxy with the version pinned in
# tools/victoriametrics/go.mod (its own module, so the Jaeger tools module stays as it is); vmui's
# assets are part of the module. The build is cached per version in $CLINIC_CACHE_DIR and shared
# by every clone and state dir (about a minute on two cores).

VM_VERSION=v1.151.0
VM_PKG=github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics
VM_TOOLS="$REPO_ROOT/tools/victoriametrics"
VM_BIN="$CLINIC_CACHE_DIR/victoriametrics-$VM_VERSION/victoria-metrics"
VM_BUILD_TIMEOUT="${CLINIC_VM_BUILD_TIMEOUT:-1800}"
VM_DIR="$CLINIC_STATE_DIR/victoriametrics"
VM_CONFIG="$VM_DIR/scrape.yml"
VM_DASHBOARDS="$VM_DIR/dashboards"
VM_DATA="$VM_DIR/data"
VM_GENERATOR="$REPO_ROOT/deploy/observability/dashboards/generate.js"

# The scrape config is Prometheus's; its renderer lives in prometheus.sh.
# shellcheck source-path=SCRIPTDIR source=prometheus.sh
source "$STACK_D/prometheus.sh"

victoriametrics_addr() { printf 'http://127.0.0.1:%s/vmui/' "${CLINIC_VM_PORT:--}"; }

victoriametrics_health() { http_healthy CLINIC_VM_PORT /health; }

# Builds once per version (see go_tool_build), at low priority: it must not starve the services of
# a stack starting beside it.
victoriametrics_prepare() {
  # The version is stamped as VictoriaMetrics' own release build does (-version, /metrics).
  go_tool_build victoriametrics title=VictoriaMetrics module=github.com/VictoriaMetrics/VictoriaMetrics \
    version="$VM_VERSION" pkg="$VM_PKG" tools="$VM_TOOLS" bin="$VM_BIN" go=1.26.6 \
    timeout="$VM_BUILD_TIMEOUT" timeout_var=CLINIC_VM_BUILD_TIMEOUT \
    ldflags="-X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-$VM_VERSION" \
    nice=1
}

# Prometheus's scrape config, plus its ALERTS series. scrape_configs is the template's last
# section, so the extra job is appended to that list.
victoriametrics_write_config() {
  local text
  mkdir -p "$VM_DIR" "$VM_DATA"
  text="$(prometheus_render_config)" || exit 1
  tail -n 1 <<< "$(grep -v '^[[:space:]]*\(#\|$\)' <<< "$text" | grep '^[a-z_]*:')" | grep -q '^scrape_configs:' \
    || fail_component victoriametrics "scrape_configs is no longer the last section of $PROMETHEUS_TEMPLATE" 0
  {
    printf '%s\n' "$text"
    cat <<EOF

  # VictoriaMetrics only: Prometheus's pending and firing alerts.
  - job_name: prometheus-alerts
    metrics_path: /federate
    params: { "match[]": ["ALERTS"] }
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$CLINIC_PROMETHEUS_PORT"]
EOF
  } > "$VM_CONFIG.tmp"
  mv -f "$VM_CONFIG.tmp" "$VM_CONFIG"
  rm -rf "$VM_DASHBOARDS.tmp"
  node "$VM_GENERATOR" --vmui "$VM_DASHBOARDS.tmp" >> "$(logfile_of victoriametrics)" 2>&1 \
    || fail_component victoriametrics "generating the vmui dashboards failed ($VM_GENERATOR)" log
  rm -rf "$VM_DASHBOARDS"
  mv "$VM_DASHBOARDS.tmp" "$VM_DASHBOARDS"
}

# Scrapes every 5 s as Prometheus does; latencyOffset lowered from 30 s so a query sees a scrape a
# few seconds after it happened (local data, no late writers); unknown Prometheus settings
# (rule_files, evaluation_interval) are skipped rather than refused. Memory stays at its default
# share: VictoriaMetrics sizes its per-query limits from it, and a dashboard queries a dozen
# histograms at once.
victoriametrics_start() {
  victoriametrics_write_config
  start_bg victoriametrics "$(logfile_of victoriametrics)" "$VM_BIN" \
    -httpListenAddr="127.0.0.1:$CLINIC_VM_PORT" \
    -storageDataPath="$VM_DATA" \
    -retentionPeriod=2d \
    -promscrape.config="$VM_CONFIG" \
    -promscrape.config.strictParse=false \
    -promscrape.suppressScrapeErrors \
    -search.latencyOffset=2s \
    -vmui.customDashboardsPath="$VM_DASHBOARDS" \
    -loggerLevel=WARN
}

victoriametrics_up() { daemon_up victoriametrics 30 victoriametrics_prepare victoriametrics_start CLINIC_VM_PORT; }

# Only while it runs: stack.env is also written after `up` of a few components.
victoriametrics_env() {
  running_pid victoriametrics >/dev/null || return 0
  echo "VICTORIAMETRICS_URL=http://127.0.0.1:$CLINIC_VM_PORT"
  echo "DASHBOARDS_URL=http://127.0.0.1:$CLINIC_VM_PORT/vmui/#/dashboards"
}
