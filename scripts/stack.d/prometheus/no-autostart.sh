# shellcheck shell=bash
# Debian's prometheus package starts its system service on installation (invoke-rc.d or
# deb-systemd-invoke): a second Prometheus as user `prometheus` on 0.0.0.0:9090 that nobody here
# asked for and that would hold the stack's default port. Both helpers ask
# /usr/sbin/policy-rc.d first, and exit code 101 there means "action forbidden". Container
# images usually ship such a file already; where there is none, a temporary one is put in place
# around the installation and removed again. Sourced by scripts/stack.d/prometheus.sh and
# scripts/check-observability.

PROMETHEUS_POLICY_RC=/usr/sbin/policy-rc.d
PROMETHEUS_POLICY_MARKER="# clinic: temporary, keeps the prometheus package from starting its service"

# Puts the temporary policy in place unless one exists; succeeds when a policy now forbids starts.
prometheus_block_autostart() {
  [[ -e "$PROMETHEUS_POLICY_RC" ]] && return 0
  [[ "$(id -u)" -eq 0 ]] || return 0
  printf '#!/bin/sh\n%s\nexit 101\n' "$PROMETHEUS_POLICY_MARKER" > "$PROMETHEUS_POLICY_RC"
  chmod 755 "$PROMETHEUS_POLICY_RC"
}

# Removes the policy again, but only the one written above.
prometheus_unblock_autostart() {
  [[ -f "$PROMETHEUS_POLICY_RC" ]] && grep -qxF "$PROMETHEUS_POLICY_MARKER" "$PROMETHEUS_POLICY_RC" 2>/dev/null \
    && rm -f "$PROMETHEUS_POLICY_RC"
  return 0
}
