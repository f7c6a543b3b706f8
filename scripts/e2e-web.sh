#!/usr/bin/env bash
# The web app's end-to-end suite: Debian's Chromium, driven by playwright-core, against the
# real quick-start server (cloudchat) on a free port with a fresh data directory. The suite
# restarts the server mid-conversation through the script this writes, and makes its
# administrator with `cloudchat admin grant` against the running server's data directory.
#   E2E_UPDATE_SCREENSHOTS=1  write the screenshots to docs/screenshots (default: a temp dir)
#   E2E_SUITES="export totp"  run only these suites (web/e2e/<name>.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

[ -x /usr/bin/chromium ] || { echo "e2e-web: /usr/bin/chromium is missing (apt-get install chromium)" >&2; exit 1; }
cargo build -p cloudchat
make web-build

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
# Readiness answers on the loopback ops port only.
ops_port=$(free_port)
# Single sign-on: a real OpenID Connect provider (scripts/test-peers/oidc_provider.mjs) with
# this server's callback registered; the server is configured for it below.
peers_python=$(bash scripts/test-peers.sh)
oidc_secret=e2e-client-secret-$(free_port)-$(free_port)
mkfifo "$work/oidc-in"
TEST_PEERS_NODE_MODULES="${TEST_PEERS_NODE_DIR:-/var/tmp/cloudchat-tools/test-peers-node}/node_modules" \
  node scripts/test-peers/oidc_provider.mjs \
  "{\"clients\":[{\"client_id\":\"cloudchat\",\"client_secret\":\"$oidc_secret\",\"redirect_uris\":[\"http://127.0.0.1:$port/auth/oidc/callback\"]}]}" \
  <"$work/oidc-in" >"$work/oidc-out" 2>"$work/oidc.log" &
oidc_pid=$!
exec 9>"$work/oidc-in"
for _ in $(seq 1 100); do [ -s "$work/oidc-out" ] && break; sleep 0.1; done
oidc_issuer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$work/oidc-out")
# Mail: a real SMTP server (scripts/test-peers/smtp_sink.py, aiosmtpd) that stores what it
# receives as JSON files in $work/mail, where the e-mail verification suite reads its links.
mkfifo "$work/smtp-in"
"$peers_python" scripts/test-peers/smtp_sink.py "$work/mail" <"$work/smtp-in" >"$work/smtp-out" 2>"$work/smtp.log" &
smtp_pid=$!
exec 8>"$work/smtp-in"
for _ in $(seq 1 100); do [ -s "$work/smtp-out" ] && break; sleep 0.1; done
smtp_port=$(head -n 1 "$work/smtp-out")

cat > "$work/start.sh" <<SCRIPT
#!/usr/bin/env bash
cd "$repo"
# A short presence grace: the suite watches a user go offline. Single sign-on with the
# provider started above. Every page load is a refresh, and the suites' ten people all come
# from 127.0.0.1: 30 a minute (the default per address) is not enough for them one after the other.
# Mail goes to the SMTP server started above.
OIDC_ISSUER=$oidc_issuer OIDC_CLIENT_ID=cloudchat OIDC_CLIENT_SECRET=$oidc_secret OIDC_DISPLAY_NAME="Example ID" \
  OIDC_REDIRECT_URL=http://127.0.0.1:$port/auth/oidc/callback OIDC_ALLOWED_DOMAINS=example.com \
  DATA_DIR="$work/data" WEB_DIR="$repo/web/dist" BCRYPT_COST=4 PORT=$port OPS_PORT=$ops_port RELAY_PRESENCE_GRACE_SECS=1 \
  AUTH_RATE_LIMIT_PER_IP_PER_MIN=600 SMTP_URL=smtp://127.0.0.1:$smtp_port \
  "$target/debug/cloudchat" >>"$work/server.log" 2>&1 &
echo \$! > "$work/pid"
for _ in \$(seq 1 100); do
  curl -fs "http://127.0.0.1:$ops_port/readyz" >/dev/null && exit 0
  sleep 0.1
done
echo "cloudchat did not become ready; see $work/server.log" >&2
exit 1
SCRIPT
cat > "$work/restart.sh" <<SCRIPT
#!/usr/bin/env bash
pid=\$(cat "$work/pid")
kill "\$pid" 2>/dev/null || true
while kill -0 "\$pid" 2>/dev/null; do sleep 0.1; done
exec "$work/start.sh"
SCRIPT
# The moderation suite's first admin: the command line, as an operator would (it only writes
# the auth database, so it works while the server runs).
cat > "$work/admin.sh" <<SCRIPT
#!/usr/bin/env bash
cd "$repo"
DATA_DIR="$work/data" exec "$target/debug/cloudchat" admin "\$@"
SCRIPT
chmod +x "$work/start.sh" "$work/restart.sh" "$work/admin.sh"
cleanup() {
  kill "$oidc_pid" "$smtp_pid" 2>/dev/null || true
  pid=$(cat "$work/pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # The revocation poll logs every 2 s; what explains a failure is elsewhere.
  if [ "${failed:-0}" = 1 ]; then
    echo "--- server log (warnings, refusals, connections; without the revocation poll)"
    grep -v '/internal/sessions/revoked' "$work/server.log" | grep -E 'WARN|ERROR|refus|connect|status=4|status=5' | tail -n 80
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$work/start.sh"
shots="$work/screenshots"
[ "${E2E_UPDATE_SCREENSHOTS:-0}" = 1 ] && shots="$repo/docs/screenshots"
# E2E_SUITES="export totp" runs only those suites (web/e2e/<name>.test.mjs); default: all.
suites=()
for s in ${E2E_SUITES:-}; do suites+=("e2e/$s.test.mjs"); done
[ ${#suites[@]} -gt 0 ] || suites=(e2e/)
(cd web && E2E_OIDC_ISSUER="$oidc_issuer" E2E_MAIL_DIR="$work/mail" E2E_BASE_URL="http://127.0.0.1:$port" E2E_RESTART_CMD="$work/restart.sh" E2E_ADMIN_CMD="$work/admin.sh grant" E2E_SCREENSHOT_DIR="$shots" \
  node --test "${suites[@]}") || { failed=1; exit 1; }
