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
JAEGER_HOME="$CLINIC_CACHE_DIR/jaeger-$JAEGER_VERSION"
JAEGER_BIN="$JAEGER_HOME/jaeger"
JAEGER_CONFIG="$REPO_ROOT/deploy/observability/jaeger/jaeger.local.yaml"
JAEGER_TOOLS="$REPO_ROOT/tools"
JAEGER_BUILD_TIMEOUT="${CLINIC_JAEGER_BUILD_TIMEOUT:-3600}"

jaeger_addr() {
  printf 'http://127.0.0.1:%s (OTLP grpc %s, http %s)' \
    "${CLINIC_JAEGER_UI_PORT:--}" "${CLINIC_OTLP_GRPC_PORT:--}" "${CLINIC_OTLP_HTTP_PORT:--}"
}

jaeger_health() {
  [[ -n "${CLINIC_JAEGER_UI_PORT:-}" ]] || return 1
  node "$STACK_D/probe.js" http "http://127.0.0.1:$CLINIC_JAEGER_UI_PORT/api/services" >/dev/null 2>&1
}

# Builds once per version. The binary is moved into place only when the build succeeded, and a
# lock keeps two stacks starting at once from building twice.
jaeger_build() {
  [[ -x "$JAEGER_BIN" ]] && return 0
  mkdir -p "$CLINIC_CACHE_DIR"
  local lf tmp pid started n base last=0
  lf="$(logfile_of jaeger)"
  {
    flock 9
    [[ -x "$JAEGER_BIN" ]] && return 0
    have go || fail_component jaeger "go not found (needed once to build Jaeger $JAEGER_VERSION; Go >= 1.24)" 0
    grep -q "^tool $JAEGER_PKG\$" "$JAEGER_TOOLS/go.mod" \
      || fail_component jaeger "$JAEGER_TOOLS/go.mod does not pin $JAEGER_PKG" 0
    grep -Eq "^[[:space:]]*github.com/jaegertracing/jaeger $JAEGER_VERSION( |$)" "$JAEGER_TOOLS/go.mod" \
      || fail_component jaeger "$JAEGER_TOOLS/go.mod pins another Jaeger version than $JAEGER_VERSION" 0
    mkdir -p "$JAEGER_HOME"
    tmp="$JAEGER_HOME/jaeger.tmp.$$"
    log "stack: jaeger: building Jaeger $JAEGER_VERSION from $JAEGER_TOOLS (once per machine; several minutes on 2 cores; output in $lf)"
    printf '\n===== %s building %s %s\n' "$(date '+%F %T')" "$JAEGER_PKG" "$JAEGER_VERSION" >> "$lf"
    base="$(wc -l < "$lf")"
    # go.mod and go.sum are complete, so the default -mod=readonly builds without touching them.
    # The version is stamped as Jaeger's own release build does (`jaeger version`, UI footer).
    (cd "$JAEGER_TOOLS" && exec go build -v \
      -ldflags "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
      -o "$tmp" "$JAEGER_PKG") >> "$lf" 2>&1 8>&- &
    pid=$!
    started=$SECONDS
    last=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS - started > JAEGER_BUILD_TIMEOUT)); then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$tmp"
        fail_component jaeger "build not finished after ${JAEGER_BUILD_TIMEOUT}s (CLINIC_JAEGER_BUILD_TIMEOUT)"
      fi
      if ((SECONDS - last >= 30)); then
        last=$SECONDS
        # go build -v prints each package it compiles, one per line.
        n=$(($(wc -l < "$lf") - base))
        log "stack: jaeger: still building ($((SECONDS - started))s, $n packages compiled so far)"
      fi
      sleep 2
    done
    if ! wait "$pid"; then
      rm -f "$tmp"
      fail_component jaeger "go build $JAEGER_PKG failed"
    fi
    mv -f "$tmp" "$JAEGER_BIN"
    log "stack: jaeger: built $JAEGER_BIN in $((SECONDS - started))s"
  } 9> "$JAEGER_HOME.lock"
}

jaeger_up() {
  if ! running_pid jaeger >/dev/null; then
    jaeger_build
    local var
    for var in CLINIC_OTLP_GRPC_PORT CLINIC_OTLP_HTTP_PORT CLINIC_JAEGER_UI_PORT CLINIC_JAEGER_GRPC_PORT; do
      require_port_free jaeger "$var"
    done
    # The config reads the ports from the environment; they are exported by resolve_ports.
    start_bg jaeger "$(logfile_of jaeger)" "$JAEGER_BIN" --config "file:$JAEGER_CONFIG"
  fi
  wait_healthy jaeger 60
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
