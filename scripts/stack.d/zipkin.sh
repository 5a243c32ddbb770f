# shellcheck shell=bash
# Zipkin: the trace UI of the local stack (its Lens UI at /zipkin/), fed by the services beside
# Jaeger (Jaeger keeps the query API the tests use; the Jaeger Go module carries no UI assets).
# Spans arrive over HTTP at /api/v2/spans on the same port and are kept in memory only.
#
# The server is the `exec` jar of io.zipkin:zipkin-server from Maven Central (Apache-2.0), fetched
# once per version into $CLINIC_CACHE_DIR and shared by every clone and state dir. 3.6.1 runs on
# Java 17 (the jar is built for 17: Spring Boot 3.5).

ZIPKIN_VERSION=3.6.1
ZIPKIN_HOME="$CLINIC_CACHE_DIR/zipkin-$ZIPKIN_VERSION"
ZIPKIN_JAR="$ZIPKIN_HOME/zipkin-server-$ZIPKIN_VERSION-exec.jar"
ZIPKIN_MARKER="$ZIPKIN_HOME/.complete"
# Pinned, so a fresh machine fetches exactly the plugin this was tried with.
ZIPKIN_MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
# The in-memory store drops the oldest traces past this many spans; bounded so the heap below
# holds it (a few hours of local clicking, or a few load-test runs).
ZIPKIN_MAX_SPANS="${CLINIC_ZIPKIN_MAX_SPANS:-150000}"

zipkin_addr() { printf 'http://127.0.0.1:%s/zipkin/' "${CLINIC_ZIPKIN_PORT:--}"; }

zipkin_apt() {
  have java || echo default-jre-headless
  if [[ ! -f "$ZIPKIN_MARKER" ]] && ! have mvn; then echo maven; fi
}

zipkin_health() { http_healthy CLINIC_ZIPKIN_PORT /health; }

# Fetched once per version; the marker is written only after a complete copy, and a lock keeps
# two stacks starting at once from fetching twice.
zipkin_prepare() {
  [[ -f "$ZIPKIN_MARKER" ]] && return 0
  mkdir -p "$CLINIC_CACHE_DIR"
  local lf tmp
  lf="$(logfile_of zipkin)"
  mkdir -p "$(dirname "$lf")"
  {
    flock 9
    [[ -f "$ZIPKIN_MARKER" ]] && return 0
    have mvn || fail_component zipkin "mvn not found (needed once to fetch the Zipkin server jar)" 0
    tmp="$ZIPKIN_HOME.tmp.$$"
    rm -rf "$tmp"
    log "stack: zipkin: fetching zipkin-server $ZIPKIN_VERSION into $ZIPKIN_HOME (once per machine)"
    if ! mvn -q -B "$ZIPKIN_MAVEN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
        -DoutputDirectory="$tmp" >> "$lf" 2>&1 8>&-; then
      rm -rf "$tmp"
      fail_component zipkin "fetching io.zipkin:zipkin-server:$ZIPKIN_VERSION with Maven failed" log
    fi
    [[ -s "$tmp/$(basename "$ZIPKIN_JAR")" ]] \
      || fail_component zipkin "Maven finished but $(basename "$ZIPKIN_JAR") is missing in $tmp" log
    rm -rf "$ZIPKIN_HOME"
    mv "$tmp" "$ZIPKIN_HOME"
    : > "$ZIPKIN_MARKER"
  } 9> "$ZIPKIN_HOME.lock"
}

# The jar, and a Java to run it (checked only when Zipkin is about to start: fetching needs none).
zipkin_prepare_to_run() {
  have java || fail_component zipkin "java not found (Java 17 or newer)" 0
  zipkin_prepare
}

# Settings are Zipkin's documented environment variables (in a subshell, so they stay with this
# process); the listen address is Armeria's: loopback only, like the rest of the stack.
zipkin_start() {
  (
    export STORAGE_TYPE=mem MEM_MAX_SPANS="$ZIPKIN_MAX_SPANS" SELF_TRACING_ENABLED=false
    start_bg zipkin "$(logfile_of zipkin)" java -Xms64m -Xmx384m -XX:+UseSerialGC \
      -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.net.preferIPv4Stack=true \
      -jar "$ZIPKIN_JAR" "--armeria.ports[0].ip=127.0.0.1" \
      "--armeria.ports[0].port=$CLINIC_ZIPKIN_PORT" "--armeria.ports[0].protocols=http"
  ) || exit 1
}

zipkin_up() { daemon_up zipkin 120 zipkin_prepare_to_run zipkin_start CLINIC_ZIPKIN_PORT; }

# Only while it runs: the services export to it when OTEL_EXPORTER_ZIPKIN_ENDPOINT is set (see
# service_common_env), and stack.env is also written after `up` of a few components.
zipkin_env() {
  running_pid zipkin >/dev/null || return 0
  echo "ZIPKIN_URL=http://127.0.0.1:$CLINIC_ZIPKIN_PORT/zipkin/"
  echo "OTEL_EXPORTER_ZIPKIN_ENDPOINT=http://127.0.0.1:$CLINIC_ZIPKIN_PORT/api/v2/spans"
}
