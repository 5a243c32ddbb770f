# shellcheck shell=bash
# The HTTP edge: the API under /api/v1, OpenAPI docs at /docs.

edge_addr() { printf 'http://127.0.0.1:%s' "${CLINIC_EDGE_PORT:--}"; }
edge_health() { node "$STACK_D/probe.js" http "http://127.0.0.1:${CLINIC_EDGE_PORT:-0}/readyz" >/dev/null 2>&1; }
# The first admin of a local stack (created only while no admin exists). Development only:
# a real deployment sets BOOTSTRAP_ADMIN_* from a secret or runs the create-admin command.
CLINIC_ADMIN_EMAIL="${CLINIC_ADMIN_EMAIL:-admin@clinic.local}"
CLINIC_ADMIN_PASSWORD="${CLINIC_ADMIN_PASSWORD:-local-admin-password}"
edge_up() {
  node_service_up edge 60 HTTP_PORT="$CLINIC_EDGE_PORT" METRICS_PORT="$CLINIC_EDGE_METRICS_PORT" PGDATABASE=clinic_edge \
    BOOTSTRAP_ADMIN_EMAIL="$CLINIC_ADMIN_EMAIL" BOOTSTRAP_ADMIN_PASSWORD="$CLINIC_ADMIN_PASSWORD"
}
edge_env() {
  echo "EDGE_URL=http://127.0.0.1:$CLINIC_EDGE_PORT"
  echo "ADMIN_EMAIL=$CLINIC_ADMIN_EMAIL"
  echo "ADMIN_PASSWORD=$CLINIC_ADMIN_PASSWORD"
}
