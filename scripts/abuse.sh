#!/usr/bin/env bash
# The abuse suite: attacks the running quick start and the PostgreSQL stack (real nginx, two
# relays, a private redis-server) over HTTP and WebSocket and asserts the safe answers.
# Needs PostgreSQL on 127.0.0.1:5432, nginx and redis-server. See deploy/test/abuse.py and
# docs/abuse.md. Extra arguments go to the suite (--only quick|postgres, --cases a,b).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$(pwd)/target}
for tool in nginx redis-server psql; do
  command -v "$tool" >/dev/null || { echo "abuse: $tool is missing" >&2; exit 1; }
done
venv=${E2E_VENV:-/var/tmp/cloudchat-e2e-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'websockets>=14,<16' 'cryptography>=42'
cargo build -p cloudchat -p auth-service -p chat-service -p ws-relay
"$venv/bin/python" deploy/test/abuse.py --bin-dir "$target/debug" "$@"
