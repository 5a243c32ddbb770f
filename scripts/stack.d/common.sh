# shellcheck shell=bash
# Shared helpers for scripts/stack and its components (scripts/stack.d/<name>.sh).
#
# A component file defines, for component <c>:
#   <c>_up       start it unless it already runs, then wait until healthy (required)
#   <c>_health   quick health probe, exit status only (required)
#   <c>_addr     print host:port (required)
#   <c>_down     stop it (optional; default: stop_bg <c>)
#   <c>_apt      print Debian packages it still needs, one per line (optional);
#                gathered for all components first so apt-get update runs once
#   <c>_env      print KEY=VALUE lines for stack.env (optional)
#   <c>_prepare  fetch or build what it needs into the cache, start nothing (optional; run by
#                `scripts/stack prepare`, and by its own <c>_up)
# A component that listens on a port appends VAR:DEFAULT to PORT_DEFAULTS at
# the top of its file; VAR then gets the same env / persisted / free-port
# handling as the infra ports.
# A long-running process is started with start_bg and stopped with stop_bg, so
# `down` only ever kills what `up` started.

STACK_D="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$STACK_D/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=prometheus/no-autostart.sh
source "$STACK_D/prometheus/no-autostart.sh"

CLINIC_STATE_DIR="${CLINIC_STATE_DIR:-$REPO_ROOT/.state/dev}"
# Absolute, so pidfile checks and postgres (which runs elsewhere) agree on
# paths; -m because `status` must not create the directory.
CLINIC_STATE_DIR="$(realpath -m -- "$CLINIC_STATE_DIR")"
CLINIC_CACHE_DIR="${CLINIC_CACHE_DIR:-${HOME:-/root}/.cache/clinic}"
CLINIC_CACHE_DIR="$(realpath -m -- "$CLINIC_CACHE_DIR")"
CLINIC_BOOKING_SHARDS="${CLINIC_BOOKING_SHARDS:-4}"
CLINIC_BOOKING_HA="${CLINIC_BOOKING_HA:-patroni}"
[[ "$CLINIC_BOOKING_HA" == patroni || "$CLINIC_BOOKING_HA" == none ]] \
  || { printf 'stack: error: CLINIC_BOOKING_HA must be patroni or none, got %s\n' "$CLINIC_BOOKING_HA" >&2; exit 1; }
export CLINIC_STATE_DIR CLINIC_CACHE_DIR CLINIC_BOOKING_SHARDS CLINIC_BOOKING_HA
# The services, probes and tools the stack starts run on the platform's Node.js 24.
# shellcheck source=../node-runtime.sh
source "$REPO_ROOT/scripts/node-runtime.sh"
use_node_runtime
# shellcheck source-path=SCRIPTDIR source=pgbackrest/archive.sh
source "$STACK_D/pgbackrest/archive.sh"

STATE_LOGS="$CLINIC_STATE_DIR/logs"
STATE_RUN="$CLINIC_STATE_DIR/run"
PORTS_FILE="$CLINIC_STATE_DIR/ports.env"
# shellcheck disable=SC2034  # read by scripts/stack
ENV_FILE="$CLINIC_STATE_DIR/stack.env"
# Only a directory carrying this marker is ever deleted by `reset`.
STATE_MARKER="$CLINIC_STATE_DIR/.clinic-stack-state"

STOP_TIMEOUT="${CLINIC_STOP_TIMEOUT:-20}"
# scripts/stack holds its state-dir lock on fd 8. Every long-running child
# gets `8>&-`, or it would keep the lock held for as long as it lives.

log()  { printf '%s\n' "$*" >&2; }
die()  { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

init_state() {
  mkdir -p "$STATE_LOGS" "$STATE_RUN"
  [[ -e "$STATE_MARKER" ]] || : > "$STATE_MARKER"
}

logfile_of() { printf '%s/%s.log' "$STATE_LOGS" "$1"; }

# fail_component NAME MESSAGE [WHY]
# Prints the last 30 lines of a component's log and exits; used whenever a
# start or health wait fails, so the cause is visible without digging. WHY says
# what can have caused the failure:
#   1 (default)  anything, the saved state included: the log, and how to start
#                from scratch (recovery_hint)
#   log          something the log explains but the saved state cannot (a
#                download or build into the cache, a generated config): the log only
#   0            something outside both (a port in use, a missing program, a
#                setting): neither
fail_component() {
  local name="$1" msg="$2" why="${3:-1}" lf
  lf="$(logfile_of "$name")"
  {
    printf 'stack: %s: %s\n' "$name" "$msg"
    printf 'stack: %s: log file: %s\n' "$name" "$lf"
    if [[ "$why" != 0 && -s "$lf" ]]; then
      printf -- '----- last 30 lines of %s -----\n' "$lf"
      tail -n 30 "$lf"
      printf -- '-----\n'
    fi
    if [[ "$why" == 1 ]]; then recovery_hint "$name"; fi
  } >&2
  exit 1
}

# The data a component keeps between starts (its directory in the state dir). A component whose
# start failed because of that data would fail the same way on every run; `reset <name>` clears
# just that component (and whatever its optional <c>_reset clears besides, e.g. patroni's keys in
# etcd).
component_state_dir() { printf '%s/%s' "$CLINIC_STATE_DIR" "$1"; }

# The component a failing process belongs to: a Patroni member (booking-<shard>-m<member>) is
# the patroni component's, every other process is its component's own.
component_of() {
  case "$1" in
    booking-[0-9]-m[0-9]) printf 'patroni' ;;
    *) printf '%s' "$1" ;;
  esac
}

# How to start a component from scratch, and what that deletes: its <c>_state_lost says it when
# that is more than a scratch copy (the booking shards, the backups); without one, "its data".
recovery_hint() {
  local name component prefix="" lost="its data"
  name="$1"
  component="$(component_of "$name")"
  [[ -d "$(component_state_dir "$component")" ]] || return 0
  if [[ "$CLINIC_STATE_DIR" != "$REPO_ROOT/.state/dev" ]]; then
    printf -v prefix 'CLINIC_STATE_DIR=%q ' "$CLINIC_STATE_DIR"
  fi
  if declare -F "${component}_state_lost" >/dev/null; then lost="$("${component}_state_lost")"; fi
  printf 'stack: %s: if its saved state is the cause, start %s from scratch (deletes %s):\n' "$name" "$component" "$lost"
  printf '  %sscripts/stack reset %s && %sscripts/stack up\n' "$prefix" "$component" "$prefix"
}

have() { command -v "$1" >/dev/null 2>&1; }

# stack.env is sourced by shells (`set -a; . stack.env`: scripts/test, loadtest/run, chaos/run)
# and read by the tests (readStackSettings in @clinic/test-stack), so every value is written as
# one shell word: as it is when it holds only characters no shell treats specially, else in
# single quotes (a quote inside as '\''). A password or a state dir with a space, a quote or a
# `$` comes back as it was.
env_line() {
  local key="$1" value="$2"
  if [[ "$value" =~ ^[A-Za-z0-9_@%+=:,./-]*$ ]]; then
    printf '%s=%s\n' "$key" "$value"
  else
    printf '%s=%s\n' "$key" "$(sh_quote "$value")"
  fi
}

# $1 quoted for sh: between single quotes, each single quote inside written as '\''.
sh_quote() {
  local q="'\\''"
  printf "'%s'" "${1//\'/$q}"
}

# ---------------------------------------------------------------- apt

# Installs only what is missing; `apt-get update` runs once per invocation
# and only when something must actually be installed.
APT_UPDATED=0
apt_install() {
  [[ $# -gt 0 ]] || return 0
  [[ "$(id -u)" -eq 0 ]] || die "need root to install: $* (run: sudo apt-get install -y $*)"
  have apt-get || die "apt-get not found; install manually: $*"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$STATE_LOGS"
  local lf="$STATE_LOGS/apt.log"
  if [[ "$APT_UPDATED" -eq 0 ]]; then
    log "stack: apt-get update (to install: $*; output in $lf)"
    apt-get -o DPkg::Lock::Timeout=600 update >> "$lf" 2>&1 || { tail -n 30 "$lf" >&2; die "apt-get update failed (log: $lf)"; }
    APT_UPDATED=1
  fi
  log "stack: apt-get install -y $*"
  # Packages with a system service (etcd-server, haproxy, patroni, prometheus, postgresql) must
  # not start it: a second server on the default ports that nobody asked for.
  prometheus_block_autostart
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >> "$lf" 2>&1 \
    || { prometheus_unblock_autostart; tail -n 30 "$lf" >&2; die "apt-get install failed: $* (log: $lf)"; }
  prometheus_unblock_autostart
}

# ---------------------------------------------------------------- ports

# VAR:DEFAULT for every port. The infra ones live here rather than in their
# component files so stack.env is complete even after `up redis` alone.
PORT_DEFAULTS=(
  CLINIC_PG_PORT:15432
  CLINIC_REDIS_PORT:16379
  CLINIC_KAFKA_PORT:19092
  CLINIC_KAFKA_CONTROLLER_PORT:19093
  CLINIC_EDGE_PORT:8080
  CLINIC_EDGE_METRICS_PORT:9464
  CLINIC_DOCTOR_PORT:50051
  CLINIC_DOCTOR_METRICS_PORT:9465
  CLINIC_SLOT_PORT:50052
  CLINIC_SLOT_METRICS_PORT:9466
  CLINIC_BOOKING_PORT:50053
  CLINIC_BOOKING_METRICS_PORT:9467
  CLINIC_NOTIFIER_PORT:50054
  CLINIC_NOTIFIER_METRICS_PORT:9468
  CLINIC_SMTP_PORT:2525
  CLINIC_SMS_PORT:8025
  CLINIC_OTLP_GRPC_PORT:4317
  CLINIC_OTLP_HTTP_PORT:4318
  CLINIC_JAEGER_UI_PORT:16686
  CLINIC_JAEGER_GRPC_PORT:16685
  CLINIC_PROMETHEUS_PORT:9090
  CLINIC_ZIPKIN_PORT:9411
  CLINIC_VM_PORT:8428
)

# Lets the OS pick N distinct free loopback ports: all sockets stay bound until
# every port is chosen, so the same port can't be handed out twice.
pick_free_ports() {
  local n="$1"
  if have python3; then
    python3 - "$n" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
  elif have node; then
    node -e '
      const net = require("net"); const n = +process.argv[1]; const servers = []; const ports = [];
      const next = () => { if (ports.length === n) { console.log(ports.join(" ")); servers.forEach(s => s.close()); return; }
        const s = net.createServer(); servers.push(s);
        s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); next(); }); };
      next();' "$n"
  else
    die "CLINIC_PORTS=free needs python3 or node to pick ports"
  fi
}

# Port precedence: explicit env var > value persisted in the state dir >
# free port (CLINIC_PORTS=free) or the fixed default. With persist=1 (used by
# `up`), the resolved set is written back so status/down/a later up reuse it.
resolve_ports() {
  local persist="${1:-0}" entry var def val
  local -A saved=()
  if [[ -f "$PORTS_FILE" ]]; then
    while IFS='=' read -r var val; do
      [[ "$var" =~ ^[A-Z_][A-Z0-9_]*$ && "$val" =~ ^[0-9]+$ ]] && saved[$var]="$val"
    done < "$PORTS_FILE"
  fi
  local need_free=()
  for entry in "${PORT_DEFAULTS[@]}"; do
    var="${entry%%:*}"; def="${entry#*:}"
    val="${!var:-}"
    if [[ -n "$val" ]]; then
      [[ "$val" =~ ^[0-9]+$ ]] || die "$var must be a port number, got '$val'"
    elif [[ -n "${saved[$var]:-}" ]]; then
      val="${saved[$var]}"
    elif [[ "${CLINIC_PORTS:-}" == free ]]; then
      need_free+=("$var")
      continue
    else
      val="$def"
    fi
    printf -v "$var" '%s' "$val"
    export "${var?}"
  done
  if [[ ${#need_free[@]} -gt 0 ]]; then
    if [[ "$persist" -eq 1 ]]; then
      local ports i=0 p
      ports="$(pick_free_ports "${#need_free[@]}")" || die "could not pick free ports"
      for p in $ports; do
        var="${need_free[$i]}"
        printf -v "$var" '%s' "$p"
        export "${var?}"
        i=$((i + 1))
      done
    else
      # Nothing persisted yet and nothing running: leave them unset.
      for var in "${need_free[@]}"; do printf -v "$var" '%s' ''; done
    fi
  fi
  if [[ "$persist" -eq 1 ]]; then
    # Merge: ports of components not loaded this time must survive.
    local tmp="$PORTS_FILE.tmp.$$"
    for entry in "${PORT_DEFAULTS[@]}"; do
      var="${entry%%:*}"
      saved[$var]="${!var}"
    done
    for var in "${!saved[@]}"; do
      printf '%s=%s\n' "$var" "${saved[$var]}"
    done | sort > "$tmp"
    mv -f "$tmp" "$PORTS_FILE"
  fi
}

port_open() {
  local host="$1" port="$2"
  [[ -n "$port" ]] || return 1
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# A port held by something we did not start means the component would fail
# with a cryptic bind error; say so up front instead.
require_port_free() {
  local name="$1" var="$2" port="${!2}"
  if port_open 127.0.0.1 "$port"; then
    fail_component "$name" "port $port ($var) is already in use by another process; set $var=<port> or CLINIC_PORTS=free (with a separate CLINIC_STATE_DIR)" 0
  fi
}

# ---------------------------------------------------------------- processes

pidfile_of() { printf '%s/%s.pid' "$STATE_RUN" "$1"; }
identfile_of() { printf '%s/%s.ident' "$STATE_RUN" "$1"; }

# Field 22 of /proc/PID/stat (start time in clock ticks). Parsed after the
# last ')' because the command name in field 2 may contain spaces.
proc_starttime() {
  local stat rest
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }"
  # rest starts at field 3 (state); starttime is field 22 -> index 19 here.
  # shellcheck disable=SC2206
  local f=($rest)
  printf '%s' "${f[19]}"
}

proc_state() {
  local stat rest
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }"
  printf '%s' "${rest%% *}"
}

# First word of the process's argv[0], basename only. Taking the first word
# copes with programs that rewrite their title (redis-server does).
proc_argv0() {
  local first
  first="$(tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | head -n 1)" || return 1
  first="${first%% *}"
  printf '%s' "${first##*/}"
}

# Records PID as the process of component NAME. Besides the pid, the start time
# and program name are stored, so a recycled pid is never mistaken for ours.
register_pid() {
  local name="$1" pid="$2" argv0="${3:-}" st
  st="$(proc_starttime "$pid")" || return 1
  [[ -n "$argv0" ]] || argv0="$(proc_argv0 "$pid")"
  mkdir -p "$STATE_RUN"
  printf '%s\n' "$pid" > "$(pidfile_of "$name")"
  printf '%s\n%s\n' "$st" "${argv0##*/}" > "$(identfile_of "$name")"
}

# Prints the pid of NAME and succeeds only when the recorded process is still
# alive and is the very process that was started (same start time and program).
running_pid() {
  local name="$1" pf idf pid st argv0 cur_st cur_state
  pf="$(pidfile_of "$name")"; idf="$(identfile_of "$name")"
  [[ -f "$pf" && -f "$idf" ]] || return 1
  pid="$(head -n 1 "$pf")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { read -r st; read -r argv0; } < "$idf" || return 1
  cur_st="$(proc_starttime "$pid")" || return 1
  [[ "$cur_st" == "$st" ]] || return 1
  cur_state="$(proc_state "$pid")" || return 1
  [[ "$cur_state" != Z && "$cur_state" != X ]] || return 1
  [[ "$(proc_argv0 "$pid")" == "$argv0" ]] || return 1
  printf '%s' "$pid"
}

clear_pid() { rm -f "$(pidfile_of "$1")" "$(identfile_of "$1")"; }

proc_alive() {
  local s
  s="$(proc_state "$1")" || return 1
  [[ "$s" != Z && "$s" != X ]]
}

descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null || true); do
    descendants "$child"
    printf '%s\n' "$child"
  done
}

# start_bg NAME LOGFILE CMD...
# Starts CMD detached (own session, so a Ctrl-C in the calling terminal does not
# reach it), stdout+stderr appended to LOGFILE, pid recorded for stop_bg.
# Does nothing if NAME is already running.
start_bg() {
  local name="$1" logfile="$2"; shift 2
  [[ $# -gt 0 ]] || die "start_bg $name: no command"
  local pid
  if pid="$(running_pid "$name")"; then
    return 0
  fi
  clear_pid "$name"
  mkdir -p "$(dirname "$logfile")" "$STATE_RUN"
  printf '\n===== %s starting %s: %s\n' "$(date '+%F %T')" "$name" "$*" >> "$logfile"
  # A non-interactive shell doesn't make background jobs process-group leaders,
  # so setsid calls setsid(2) and execs in place: $! is the program's own pid.
  setsid "$@" >> "$logfile" 2>&1 < /dev/null 8>&- &
  pid=$!
  register_pid "$name" "$pid" "$1" \
    || fail_component "$name" "exited immediately after start"
  # Until the exec happens, /proc shows the forked shell, not the program;
  # wait for it so later identity checks see the real process.
  local i
  for ((i = 0; i < 100; i++)); do
    running_pid "$name" >/dev/null && return 0
    proc_alive "$pid" || fail_component "$name" "exited immediately after start"
    sleep 0.05
  done
  fail_component "$name" "pid $pid never became '${1##*/}'"
}

# stop_bg NAME [SIGNAL] [TIMEOUT]
# Sends SIGNAL (default TERM) to the recorded process only if it is still the
# process we started, waits up to TIMEOUT seconds, then SIGKILLs it and any
# children it left.
stop_bg() {
  local name="$1" sig="${2:-TERM}" timeout="${3:-$STOP_TIMEOUT}" pid kids i
  if ! pid="$(running_pid "$name")"; then
    if [[ -f "$(pidfile_of "$name")" ]]; then
      log "stack: $name: pid file is stale (process gone or not ours), removing it"
    fi
    clear_pid "$name"
    return 0
  fi
  kids="$(descendants "$pid" | tr '\n' ' ')"
  kill -s "$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    proc_alive "$pid" || break
    sleep 0.1
  done
  if proc_alive "$pid"; then
    log "stack: $name: still running after ${timeout}s, sending SIGKILL to $pid"
    kids="$kids $(descendants "$pid" | tr '\n' ' ')"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do proc_alive "$pid" || break; sleep 0.1; done
  fi
  # Children normally exit with their parent; anything left after the parent
  # is gone would otherwise linger forever.
  local k
  for k in $kids; do
    if proc_alive "$k"; then kill -KILL "$k" 2>/dev/null || true; fi
  done
  clear_pid "$name"
}

# wait_healthy NAME TIMEOUT_SECONDS
# Polls <NAME>_health; fails early if the started process died.
wait_healthy() {
  local name="$1" timeout="$2" deadline
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "${name}_health"; then return 0; fi
    if [[ -f "$(pidfile_of "$name")" ]] && ! running_pid "$name" >/dev/null; then
      fail_component "$name" "process exited during startup"
    fi
    sleep 0.3
  done
  "${name}_health" && return 0
  fail_component "$name" "not healthy after ${timeout}s at $("${name}_addr")"
}

# ---------------------------------------------------------------- node services

# Compiles the workspace once per `scripts/stack` invocation (npm ci when needed).
ensure_build() {
  [[ -n "${CLINIC_BUILT:-}" ]] && return 0
  bash "$REPO_ROOT/scripts/ensure-build" >&2 || die "build failed"
  CLINIC_BUILT=1
}

# The settings every service reads from the stack: database login, peers' addresses.
service_common_env() {
  export NODE_ENV=development LOG_LEVEL="${CLINIC_LOG_LEVEL:-info}"
  export PGHOST=127.0.0.1 PGPORT="$CLINIC_PG_PORT" PGUSER=clinic PGPASSWORD=clinic
  export DOCTOR_ADDR="127.0.0.1:$CLINIC_DOCTOR_PORT" SLOT_ADDR="127.0.0.1:$CLINIC_SLOT_PORT"
  export BOOKING_ADDR="127.0.0.1:$CLINIC_BOOKING_PORT" NOTIFIER_ADDR="127.0.0.1:$CLINIC_NOTIFIER_PORT"
  export REDIS_URL="redis://127.0.0.1:$CLINIC_REDIS_PORT" KAFKA_BROKERS="127.0.0.1:$CLINIC_KAFKA_PORT"
  # Services verify the callers' tokens against the edge's published keys.
  export AUTH_JWKS_URL="http://127.0.0.1:$CLINIC_EDGE_PORT/.well-known/jwks.json"
  # Traces go to the stack's Jaeger when it runs; without one, services keep trace context (log
  # lines, Kafka headers) but export nothing.
  if running_pid jaeger >/dev/null 2>&1; then
    export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$CLINIC_OTLP_HTTP_PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  fi
  # and to Zipkin (the local trace UI) as well when it runs.
  if running_pid zipkin >/dev/null 2>&1; then
    export OTEL_EXPORTER_ZIPKIN_ENDPOINT="http://127.0.0.1:$CLINIC_ZIPKIN_PORT/api/v2/spans"
  fi
}

# node_service_up NAME HEALTH_TIMEOUT VAR=VALUE...
# Starts services/NAME/dist/src/main.js with the common settings plus the given ones (in a
# subshell, so they do not leak into the next service), then waits until it is healthy.
node_service_up() {
  local name="$1" timeout="$2"; shift 2
  ensure_build
  if ! running_pid "$name" >/dev/null; then
    (
      service_common_env
      local kv
      for kv in "$@"; do export "${kv?}"; done
      start_bg "$name" "$(logfile_of "$name")" node --enable-source-maps "$REPO_ROOT/services/$name/dist/src/main.js"
    ) || exit 1
  fi
  wait_healthy "$name" "$timeout"
}

# grpc.health.v1 Check of "" (the whole process) must answer SERVING.
grpc_serving() {
  node "$STACK_D/probe.js" grpc "127.0.0.1:$1" >/dev/null 2>&1
}

# The gRPC services' component functions: each listens on CLINIC_<NAME>_PORT, serves metrics on
# CLINIC_<NAME>_METRICS_PORT and is found by its peers at <NAME>_ADDR.
grpc_service_port_var() { printf 'CLINIC_%s_PORT' "${1^^}"; }
grpc_service_addr() {
  local var
  var="$(grpc_service_port_var "$1")"
  printf '127.0.0.1:%s' "${!var:--}"
}
grpc_service_health() {
  local var
  var="$(grpc_service_port_var "$1")"
  grpc_serving "${!var:-0}"
}
grpc_service_env() {
  local var
  var="$(grpc_service_port_var "$1")"
  printf '%s_ADDR=127.0.0.1:%s\n' "${1^^}" "${!var}"
}

# grpc_service_up NAME HEALTH_TIMEOUT VAR=VALUE...
# node_service_up with the service's own gRPC and metrics ports added to the given settings.
grpc_service_up() {
  local name="$1" timeout="$2" port metrics
  shift 2
  port="$(grpc_service_port_var "$name")"
  metrics="CLINIC_${name^^}_METRICS_PORT"
  node_service_up "$name" "$timeout" GRPC_PORT="${!port}" METRICS_PORT="${!metrics}" "$@"
}

# ---------------------------------------------------------------- tool daemons

# http_healthy PORT_VAR PATH
# An HTTP probe of a loopback tool; fails at once while its port is not known yet (a `status`
# before the first `up` with CLINIC_PORTS=free).
http_healthy() {
  local port="${!1:-}"
  [[ -n "$port" ]] || return 1
  node "$STACK_D/probe.js" http "http://127.0.0.1:$port$2" >/dev/null 2>&1
}

# daemon_up NAME HEALTH_TIMEOUT PREPARE START PORT_VAR...
# A tool the stack runs as a daemon (Jaeger, Zipkin, VictoriaMetrics). Unless it already runs:
# PREPARE fetches or builds it into the cache, its ports must be free (a clear message rather
# than the tool's bind error), and START launches it with start_bg (pid file in the state dir).
# Then, started now or before, it must pass NAME_health within HEALTH_TIMEOUT seconds.
daemon_up() {
  local name="$1" timeout="$2" prepare="$3" start="$4" var
  shift 4
  if ! running_pid "$name" >/dev/null; then
    "$prepare"
    for var in "$@"; do require_port_free "$name" "$var"; done
    "$start"
  fi
  wait_healthy "$name" "$timeout"
}

# go_tool_build COMPONENT KEY=VALUE...
# Builds a Go tool pinned in a tools module (`go get -tool`) once per version into the cache, shared
# by every clone and state dir. The binary is moved into place only when the build succeeded, and a
# lock keeps two stacks starting at once from building twice. Keys:
#   title, module, version  the project's name and Go module, and the pinned version
#   pkg, tools, bin         the main package, the tools module's directory, the binary to produce
#   timeout, timeout_var    seconds the build may take, and the setting that changes them
#   go                      the Go release it needs, for the message when go is missing
#   ldflags                 stamps the version as the project's own release build does
#   note                    how long the build takes, for the log line (optional)
#   nice=1                  build at low priority, so it does not starve a stack starting beside it
#   progress=1              log the packages compiled so far every 30 s (a build of many minutes)
go_tool_build() {
  local name="$1"
  shift
  local -A o=([note]="" [nice]=0 [progress]=0)
  local kv
  for kv in "$@"; do o[${kv%%=*}]="${kv#*=}"; done
  local bin="${o[bin]}" tools="${o[tools]}" pkg="${o[pkg]}" version="${o[version]}"
  local home lf tmp pid started base=0 last n
  [[ -x "$bin" ]] && return 0
  home="$(dirname "$bin")"
  mkdir -p "$CLINIC_CACHE_DIR"
  lf="$(logfile_of "$name")"
  mkdir -p "$(dirname "$lf")"
  {
    flock 9
    [[ -x "$bin" ]] && return 0
    have go || fail_component "$name" "go not found (needed once to build ${o[title]} $version; Go >= ${o[go]})" 0
    grep -q "^tool $pkg\$" "$tools/go.mod" \
      || fail_component "$name" "$tools/go.mod does not pin $pkg" 0
    grep -Eq "^[[:space:]]*${o[module]} $version( |$)" "$tools/go.mod" \
      || fail_component "$name" "$tools/go.mod pins another ${o[title]} version than $version" 0
    mkdir -p "$home"
    tmp="$bin.tmp.$$"
    log "stack: $name: building ${o[title]} $version from $tools (once per machine${o[note]:+; ${o[note]}}; output in $lf)"
    printf '\n===== %s building %s %s\n' "$(date '+%F %T')" "$pkg" "$version" >> "$lf"
    local build=(go build)
    ((o[nice])) && build=(nice -n 10 go build)
    if ((o[progress])); then
      build+=(-v)
      base="$(wc -l < "$lf")"
    fi
    # The tools module's go.mod and go.sum are complete, so the default -mod=readonly builds
    # without touching them.
    (cd "$tools" && exec "${build[@]}" -ldflags "${o[ldflags]}" -o "$tmp" "$pkg") >> "$lf" 2>&1 8>&- &
    pid=$!
    started=$SECONDS
    last=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS - started > o[timeout])); then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$tmp"
        fail_component "$name" "build not finished after ${o[timeout]}s (${o[timeout_var]})" log
      fi
      if ((o[progress] && SECONDS - last >= 30)); then
        last=$SECONDS
        # go build -v prints each package it compiles, one per line.
        n=$(($(wc -l < "$lf") - base))
        log "stack: $name: still building ($((SECONDS - started))s, $n packages compiled so far)"
      fi
      sleep 1
    done
    if ! wait "$pid"; then
      rm -f "$tmp"
      fail_component "$name" "go build $pkg failed" log
    fi
    mv -f "$tmp" "$bin"
    log "stack: $name: built $bin in $((SECONDS - started))s"
  } 9> "$home.lock"
}
