#!/usr/bin/env bash
# Installs the Python test peers (scripts/test-peers.txt) into a venv outside the clone and
# prints its python. Run by `make test-rust` and `.ci/run`; the Rust tests find the venv
# through TEST_PEERS_PYTHON (default below) and fail, never skip, when it is missing.
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
echo "$VENV/bin/python"
