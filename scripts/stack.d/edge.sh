# shellcheck shell=bash
# The HTTP edge: the API under /api/v1, OpenAPI docs at /docs.

edge_addr() { printf 'http://127.0.0.1:%s' "${CLINIC_EDGE_PORT:--}"; }
edge_health() { node "$STACK_D/probe.js" http "http://127.0.0.1:${CLINIC_EDGE_PORT:-0}/readyz" >/dev/null 2>&1; }
edge_up() {
  node_service_up edge 60 HTTP_PORT="$CLINIC_EDGE_PORT" METRICS_PORT="$CLINIC_EDGE_METRICS_PORT"
}
edge_env() {
  echo "EDGE_URL=http://127.0.0.1:$CLINIC_EDGE_PORT"
}
