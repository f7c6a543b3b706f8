#!/usr/bin/env bash
# Schemathesis (PyPI, pinned) against auth-service and chat-service started directly (SQLite,
# development keys, quotas raised so that fuzzing is not throttled): every phase — examples,
# coverage, fuzzing, stateful — with every check (the default; `--checks all` on the command
# line would override the settings files' one exception), 40 examples per operation, as a signed-in
# user. The operations that end the caller's sessions (logout-all) run last, on their own, so
# that they do not sign the fuzzer out of the rest. Exits non-zero on any failure, and when an
# operation could only be tested unauthenticated (the token was lost: the settings in
# scripts/schemathesis/ make that warning a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/cloudchat-target}"
VENV="${SCHEMATHESIS_VENV:-/var/tmp/cloudchat-schemathesis}"
if [[ ! -x "$VENV/bin/st" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi
cargo build --quiet -p auth-service -p chat-service -p ws-relay

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
auth_port=$(free_port)
chat_port=$(free_port)
relay_port=$(free_port)
auth="http://127.0.0.1:$auth_port"
chat="http://127.0.0.1:$chat_port"
relay="http://127.0.0.1:$relay_port"
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export RUST_LOG=warn
env DATA_DIR="$work" BIND_ADDR="127.0.0.1:$auth_port" DATABASE_URL="sqlite://$work/auth.db" BCRYPT_COST=4 \
  AUTH_RATE_LIMIT_PER_IP_PER_MIN=1000000 AUTH_LOGIN_FAILURES_PER_ADDRESS=1000000 \
  AUTH_LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR=1000000 AUTH_FORGOT_PER_HOUR=1000000 \
  AUTH_ACCOUNT_CHANGES_PER_HOUR=1000000 AUTH_LOGIN_SLOWDOWN_MS=0 \
  AUTH_ADMIN_ACTIONS_PER_MINUTE=1000000 CHAT_URL="$chat" \
  "$CARGO_TARGET_DIR/debug/auth-service" serve >"$work/auth.log" 2>&1 &
pids+=($!)
env DATA_DIR="$work" BIND_ADDR="127.0.0.1:$chat_port" DATABASE_URL="sqlite://$work/chat.db" AUTH_URL="$auth" \
  RELAY_URL="$relay" \
  CHAT_SEND_LIMIT=1000000 CHAT_ROOM_CREATES_PER_HOUR=1000000 CHAT_MEMBER_ADDS_PER_MINUTE=1000000 \
  CHAT_REACTIONS_PER_MINUTE=1000000 CHAT_DM_CREATES_PER_HOUR=1000000 CHAT_MAX_ROOMS_OWNED=1000000 \
  CHAT_MAX_ROOMS_PER_USER=1000000 UPLOADS_PER_HOUR=1000000 CHAT_SEARCHES_PER_MINUTE=1000000 \
  "$CARGO_TARGET_DIR/debug/chat-service" serve >"$work/chat.log" 2>&1 &
pids+=($!)
# A relay, for GET /presence (chat-service asks one).
env BIND_ADDR="127.0.0.1:$relay_port" CHAT_URL="$chat" AUTH_URL="$auth" \
  "$CARGO_TARGET_DIR/debug/ws-relay" serve >"$work/relay.log" 2>&1 &
pids+=($!)
for url in "$auth" "$chat" "$relay"; do
  for _ in $(seq 1 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$url/readyz" >/dev/null || { echo "schemathesis: $url never became ready"; cat "$work"/*.log; exit 1; }
done

# A fresh signed-in user for each run.
token() {
  local name="fuzz$RANDOM$RANDOM"
  curl -fsS -X POST "$auth/auth/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$name\",\"email\":\"$name@example.com\",\"password\":\"password123\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])'
  # An admin, named as a deployment names its first one, so that the admin operations are
  # run for real rather than refused with 403 (chat-service hears of it within a second).
  env DATA_DIR="$work" DATABASE_URL="sqlite://$work/auth.db" \
    "$CARGO_TARGET_DIR/debug/auth-service" admin grant "$name@example.com" >/dev/null
}

failed=0
run() {
  local what=$1 config=$2; shift 2
  local out="$work/$what.txt"
  if "$VENV/bin/st" --config-file "scripts/schemathesis/$config.toml" run --max-examples 40 --no-color --seed 1 \
      -H "Authorization: Bearer $(token)" "$@" >"$out" 2>&1; then
    status=ok
  else
    status=failed
  fi
  echo "schemathesis $what: $status — $(grep -E '^  [0-9]+ generated' "$out" | sed 's/^ *//')"
  if [[ $status != ok ]]; then cat "$out"; failed=1; fi
}

# Ending the caller's own sessions (log-out everywhere, revoking a listed session — the
# stateful phase finds the caller's own in GET /auth/sessions) would turn every operation
# after it into a 401: those run last, on their own.
run auth-service auth-service "$auth/openapi.json" --exclude-path /auth/logout-all \
  --exclude-path '/auth/sessions/{id}'
run chat-service chat-service "$chat/openapi.json"
run auth-service-logout-all auth-service "$auth/openapi.json" --include-path /auth/logout-all \
  --include-path '/auth/sessions/{id}'
exit "$failed"
