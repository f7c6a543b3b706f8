#!/usr/bin/env bash
# End-to-end through real nginx in front of real auth-service, chat-service and two relays
# (PostgreSQL and Redis from the machine), then the web app's browser suite through nginx.
# See deploy/test/e2e_deploy.py.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$(pwd)/target}
command -v nginx >/dev/null || { echo "e2e-deploy: nginx is missing (apt-get install nginx)" >&2; exit 1; }
venv=${E2E_VENV:-/var/tmp/cloudchat-e2e-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'websockets>=14,<16'
cargo build -p auth-service -p chat-service -p ws-relay
make web-build
"$venv/bin/python" deploy/test/e2e_deploy.py --bin-dir "$target/debug" --spa "$@"
