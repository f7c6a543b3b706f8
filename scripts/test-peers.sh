#!/usr/bin/env bash
# Installs the Python test peers (scripts/test-peers.txt) into a venv outside the clone and
# prints its python. Run by `make test-rust` and `.ci/run`; the Rust tests find the venv
# through TEST_PEERS_PYTHON (default below) and fail, never skip, when it is missing.
# Also installs the Node test peers (scripts/test-peers/package.json and its lock: the
# OpenID Connect provider) into TEST_PEERS_NODE_DIR; the Rust tests find their
# node_modules through TEST_PEERS_NODE_MODULES (default: that directory's node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${TEST_PEERS_VENV:-/var/tmp/cloudchat-tools/test-peers}"
stamp="$VENV/.requirements"
if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s scripts/test-peers.txt "$stamp"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-peers.txt
  cp scripts/test-peers.txt "$stamp"
fi
NODE_DIR="${TEST_PEERS_NODE_DIR:-/var/tmp/cloudchat-tools/test-peers-node}"
if ! cmp -s scripts/test-peers/package-lock.json "$NODE_DIR/package-lock.json" \
    || [[ ! -d "$NODE_DIR/node_modules/oidc-provider" ]]; then
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp scripts/test-peers/package.json scripts/test-peers/package-lock.json "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --silent) >&2
fi
echo "$VENV/bin/python"
