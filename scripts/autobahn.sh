#!/usr/bin/env bash
# Runs the Autobahn WebSocket protocol cases (sections 1-7 and 10) against the relay's frame
# handling, through its test-only echo socket (WS_ENABLE_ECHO=true, refused in production).
# The runner is PyPI's `kosoku`, installed into a private virtualenv. Prints the plain
# "N passed, N failed" line; exits non-zero when a case fails (by kosoku's exit status or by
# the count read back from its report) or when no case ran. NON-STRICT and INFORMATIONAL
# verdicts count as passed, as in Autobahn itself.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/cloudchat-target}"
VENV="${KOSOKU_VENV:-/var/tmp/cloudchat-kosoku}"
REPORTS="${AUTOBAHN_REPORTS:-$CARGO_TARGET_DIR/autobahn}"

if [[ ! -x "$VENV/bin/kosoku" ]]; then
  # A half-made venv (an interrupted install) is made again from scratch.
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kosoku==0.1.0"
fi

cargo build --quiet -p ws-relay
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
BIND_ADDR="127.0.0.1:$port" WS_ENABLE_ECHO=true RUST_LOG=warn \
  "$CARGO_TARGET_DIR/debug/ws-relay" serve >"$log" 2>&1 &
relay=$!
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { kill "$relay" 2>/dev/null || true; wait "$relay" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT
for _ in $(seq 1 50); do
  BIND_ADDR="127.0.0.1:$port" "$CARGO_TARGET_DIR/debug/ws-relay" healthcheck >/dev/null 2>&1 && break
  sleep 0.1
done

rm -rf "$REPORTS"
status=0
"$VENV/bin/kosoku" -p 4 -o "$REPORTS" \
  -i '1.*' -i '2.*' -i '3.*' -i '4.*' -i '5.*' -i '6.*' -i '7.*' -i '10.*' \
  "ws://127.0.0.1:$port/ws-echo" || status=$?

python3 - "$REPORTS/index.json" <<'PY' || status=$?
import collections, json, sys
cases = [r for agent in json.load(open(sys.argv[1])).values() for r in agent.values()]
ok = {"OK", "NON-STRICT", "INFORMATIONAL"}
verdicts = collections.Counter(r["behavior"] for r in cases)
closes = collections.Counter(r["behaviorClose"] for r in cases)
passed = sum(1 for r in cases if r["behavior"] in ok and r["behaviorClose"] in {"OK", "INFORMATIONAL"})
print("verdicts:", dict(verdicts), "closes:", dict(closes))
failed = len(cases) - passed
print(f"{passed} passed, {failed} failed")
# No cases at all is a failure too (a runner that did nothing).
sys.exit(1 if failed or not cases else 0)
PY
exit "$status"
