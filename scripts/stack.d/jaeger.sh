# shellcheck shell=bash
# Jaeger (v2: an OpenTelemetry collector with Jaeger's storage and query extensions): receives
# OTLP traces from the services and serves the UI and query API, all on loopback, with traces
# in memory. Config: deploy/observability/jaeger/jaeger.local.yaml.
#
# The binary is built from the Go module proxy with the version pinned in tools/go.mod
# (`go get -tool`); `go install ...@version` refuses modules with replace directives, which
# Jaeger has. The build is cached per version in $CLINIC_CACHE_DIR and shared by every clone
# and state dir; the first one takes several minutes on two cores.

# v1.75.0 is the approved release (newer ones are served by the module proxy but not approved).
JAEGER_VERSION=v1.75.0
JAEGER_PKG=github.com/jaegertracing/jaeger/cmd/jaeger
JAEGER_BIN="$CLINIC_CACHE_DIR/jaeger-$JAEGER_VERSION/jaeger"
JAEGER_CONFIG="$REPO_ROOT/deploy/observability/jaeger/jaeger.local.yaml"
JAEGER_TOOLS="$REPO_ROOT/tools"
JAEGER_BUILD_TIMEOUT="${CLINIC_JAEGER_BUILD_TIMEOUT:-3600}"

jaeger_addr() {
  printf 'http://127.0.0.1:%s (OTLP grpc %s, http %s)' \
    "${CLINIC_JAEGER_UI_PORT:--}" "${CLINIC_OTLP_GRPC_PORT:--}" "${CLINIC_OTLP_HTTP_PORT:--}"
}

jaeger_health() { http_healthy CLINIC_JAEGER_UI_PORT /api/services; }

# Builds once per version (see go_tool_build); the first build takes several minutes.
jaeger_build() {
  # The version is stamped as Jaeger's own release build does (`jaeger version`, UI footer).
  go_tool_build jaeger title=Jaeger module=github.com/jaegertracing/jaeger version="$JAEGER_VERSION" \
    pkg="$JAEGER_PKG" tools="$JAEGER_TOOLS" bin="$JAEGER_BIN" go=1.24 \
    timeout="$JAEGER_BUILD_TIMEOUT" timeout_var=CLINIC_JAEGER_BUILD_TIMEOUT \
    ldflags="-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
    note="several minutes on 2 cores" progress=1
}

# The config reads the ports from the environment; they are exported by resolve_ports.
jaeger_start() { start_bg jaeger "$(logfile_of jaeger)" "$JAEGER_BIN" --config "file:$JAEGER_CONFIG"; }

jaeger_up() {
  daemon_up jaeger 60 jaeger_build jaeger_start \
    CLINIC_OTLP_GRPC_PORT CLINIC_OTLP_HTTP_PORT CLINIC_JAEGER_UI_PORT CLINIC_JAEGER_GRPC_PORT
}

# Only while it runs: a service or test that finds OTEL_EXPORTER_OTLP_ENDPOINT exports to it,
# and stack.env is also written after `up` of a few components (the test stack).
# OTLP over HTTP/protobuf, the OpenTelemetry JS SDK's default protocol; the gRPC receiver is on
# CLINIC_OTLP_GRPC_PORT.
jaeger_env() {
  running_pid jaeger >/dev/null || return 0
  echo "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$CLINIC_OTLP_HTTP_PORT"
  echo "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
  echo "JAEGER_QUERY_URL=http://127.0.0.1:$CLINIC_JAEGER_UI_PORT"
}
