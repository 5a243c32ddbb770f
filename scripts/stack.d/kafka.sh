# shellcheck shell=bash
# Kafka: one KRaft node acting as broker and controller, run straight from the
# Maven jars (no distribution tarball), which are cached per version in
# $CLINIC_CACHE_DIR and shared by every clone and state dir.
#
# Pinned to 3.9.1: the services' client is kafkajs 2.2.4, which is no longer
# maintained and predates Kafka 4.0 dropping old protocol API versions
# (KIP-896). 3.9 is the newest line that still serves every version, runs KRaft
# without ZooKeeper, and works with kafkajs for everything used here (produce,
# consumer groups, createTopics, describe/alterConfigs, transactions). The
# logging jars in kafka/pom.xml (reload4j) match this line; 4.x moved to log4j2.

KAFKA_VERSION=3.9.1
KAFKAJS_VERSION=2.2.4
KAFKA_HOME="$CLINIC_CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_MARKER="$KAFKA_HOME/.complete"
KAFKA_DIR="$CLINIC_STATE_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j.properties"
KAFKA_TOPICS_CONFIG="${CLINIC_KAFKA_TOPICS_CONFIG:-$REPO_ROOT/config/kafka-topics.json}"
KAFKA_ENSURE="$STACK_D/kafka/ensure-topics.js"
KAFKA_HEALTH_TIMEOUT=90

kafka_addr() { printf '127.0.0.1:%s' "${CLINIC_KAFKA_PORT:--}"; }

kafka_apt() {
  have java || echo default-jre-headless
  if [[ ! -f "$KAFKA_MARKER" ]] && ! have mvn; then echo maven; fi
  have node || printf '%s\n' nodejs npm
}

# Jars are fetched once per version; the marker is written only after a
# complete copy, and a lock keeps two stacks starting at once from racing.
kafka_fetch() {
  [[ -f "$KAFKA_MARKER" ]] && return 0
  mkdir -p "$CLINIC_CACHE_DIR"
  local lf tmp
  lf="$(logfile_of kafka)"
  {
    flock 9
    [[ -f "$KAFKA_MARKER" ]] && return 0
    have mvn || fail_component kafka "mvn not found (needed once to fetch Kafka jars)" 0
    tmp="$KAFKA_HOME.tmp.$$"
    rm -rf "$tmp"
    log "stack: kafka: fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS (once per machine)"
    if ! mvn -q -B -f "$STACK_D/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp/libs" >> "$lf" 2>&1; then
      rm -rf "$tmp"
      fail_component kafka "fetching jars with Maven failed" log
    fi
    [[ -f "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] \
      || fail_component kafka "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing in $tmp/libs" log
    mkdir -p "$KAFKA_HOME"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp/libs" "$KAFKA_LIBS"
    rm -rf "$tmp"
    : > "$KAFKA_MARKER"
  } 9> "$KAFKA_HOME.lock"
}

# kafkajs normally comes from the repo's node_modules. Before `npm ci` has run
# (or in a bare checkout) fall back to a copy in the shared cache so `up` still
# works; the version matches the one the services use.
KAFKAJS_RESOLVED=0
KAFKA_NODE_PATH="${NODE_PATH:-}"
kafka_resolve_kafkajs() {
  [[ "$KAFKAJS_RESOLVED" -eq 1 ]] && return 0
  have node || fail_component kafka "node not found (needed to create topics)" 0
  # Loaded, not just resolved: a half-finished npm install leaves a package
  # that resolves but cannot load.
  if node -e 'require(require.resolve("kafkajs", { paths: [process.argv[1]] }))' "$STACK_D/kafka" 2>/dev/null; then
    KAFKAJS_RESOLVED=1
    return 0
  fi
  local dir="$CLINIC_CACHE_DIR/node-kafkajs-$KAFKAJS_VERSION"
  if [[ ! -f "$dir/node_modules/kafkajs/package.json" ]]; then
    have npm || fail_component kafka "kafkajs is not installed and npm is missing (run npm ci at the repo root)" 0
    log "stack: kafka: kafkajs not in the repo's node_modules; installing kafkajs@$KAFKAJS_VERSION into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund \
      "kafkajs@$KAFKAJS_VERSION" >> "$(logfile_of kafka)" 2>&1 \
      || fail_component kafka "npm install kafkajs@$KAFKAJS_VERSION failed" log
  fi
  KAFKA_NODE_PATH="$dir/node_modules${NODE_PATH:+:$NODE_PATH}"
  KAFKAJS_RESOLVED=1
}

kafka_ensure_topics() {
  local timeout="$1"; shift
  kafka_resolve_kafkajs
  NODE_PATH="$KAFKA_NODE_PATH" node "$KAFKA_ENSURE" \
    --brokers "127.0.0.1:$CLINIC_KAFKA_PORT" \
    --config "$KAFKA_TOPICS_CONFIG" \
    --timeout "$timeout" "$@"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR" "$KAFKA_DATA"
  cat > "$KAFKA_PROPS.tmp" <<EOF
# Written by scripts/stack on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CLINIC_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$CLINIC_KAFKA_PORT,CONTROLLER://127.0.0.1:$CLINIC_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$CLINIC_KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Topics come only from config/kafka-topics.json, so a typo in a service
# fails loudly instead of silently creating a one-partition topic.
auto.create.topics.enable=false
# Tests start and stop consumers constantly; the default 3 s delay would
# stall every first join.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
  mv -f "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"
  cat > "$KAFKA_LOG4J.tmp" <<'EOF'
# stdout is appended to $CLINIC_STATE_DIR/logs/kafka.log by the stack script.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
EOF
  mv -f "$KAFKA_LOG4J.tmp" "$KAFKA_LOG4J"
}

# The cluster id is made once per state dir, the way Kafka makes them (`random-uuid`), and
# storage is formatted once. Every value goes after its option as `--opt=value`: Kafka's argument
# parser reads a separate value that starts with `-` (base64url ids do, 1 time in 64) as an option.
kafka_storage_tool() {
  java -Dlog4j.configuration="file:$KAFKA_LOG4J" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool "$@"
}

kafka_format() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local cid_file="$KAFKA_DIR/cluster.id" cid
  if [[ ! -s "$cid_file" ]]; then
    # The id is the last line: the tool's logging shares its stdout.
    cid="$(kafka_storage_tool random-uuid 2>> "$(logfile_of kafka)" | tail -n 1)"
    [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || fail_component kafka "kafka-storage random-uuid printed no cluster id ('$cid')" log
    printf '%s' "$cid" > "$cid_file"
  fi
  cid="$(cat "$cid_file")"
  log "stack: kafka: formatting storage (cluster id $cid)"
  kafka_storage_tool format --cluster-id="$cid" --config="$KAFKA_PROPS" --ignore-formatted \
    >> "$(logfile_of kafka)" 2>&1 || fail_component kafka "storage format failed"
}

kafka_health() {
  [[ -n "${CLINIC_KAFKA_PORT:-}" ]] || return 1
  port_open 127.0.0.1 "$CLINIC_KAFKA_PORT" || return 1
  kafka_ensure_topics 10 --check >/dev/null 2>&1
}

kafka_up() {
  local lf deadline remaining
  lf="$(logfile_of kafka)"
  deadline=$((SECONDS + KAFKA_HEALTH_TIMEOUT))
  if ! running_pid kafka >/dev/null; then
    have java || fail_component kafka "java not found" 0
    kafka_fetch
    require_port_free kafka CLINIC_KAFKA_PORT
    require_port_free kafka CLINIC_KAFKA_CONTROLLER_PORT
    kafka_write_config
    kafka_format
    deadline=$((SECONDS + KAFKA_HEALTH_TIMEOUT))
    start_bg kafka "$lf" java -Xms256m -Xmx512m \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
      -Dlog4j.configuration="file:$KAFKA_LOG4J" \
      -Dkafka.logs.dir="$STATE_LOGS" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS"
  fi
  kafka_resolve_kafkajs
  until port_open 127.0.0.1 "$CLINIC_KAFKA_PORT"; do
    running_pid kafka >/dev/null || fail_component kafka "process exited during startup"
    ((SECONDS < deadline)) \
      || fail_component kafka "port $CLINIC_KAFKA_PORT not accepting connections after ${KAFKA_HEALTH_TIMEOUT}s"
    sleep 0.3
  done
  # Creating the topics doubles as the final health check: it needs working
  # metadata, a controller and partition leaders.
  remaining=$((deadline - SECONDS))
  ((remaining > 60)) && remaining=60
  ((remaining < 10)) && remaining=10
  if ! kafka_ensure_topics "$remaining" >> "$lf" 2>&1; then
    fail_component kafka "topic creation/metadata check failed (see ensure-topics output in the log)"
  fi
}

kafka_down() { stop_bg kafka TERM; }

kafka_env() {
  echo "KAFKA_BROKERS=127.0.0.1:$CLINIC_KAFKA_PORT"
}
