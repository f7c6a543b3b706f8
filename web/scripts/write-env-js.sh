#!/bin/sh
# Writes the SPA's runtime configuration (env.js) from environment variables, so one
# build serves every environment. Meant for the web container's entrypoint:
#
#   CLOUDCHAT_API_BASE=https://api.example.org CLOUDCHAT_WS_URL=wss://rt.example.org/ws \
#     write-env-js.sh /usr/share/nginx/html/env.js
#
# Both values default to "" (same origin; the socket is then ws(s)://<host>/ws).
set -eu

out="${1:-/usr/share/nginx/html/env.js}"

# JSON string escaping for the two characters that matter; control characters are refused.
esc() {
  case "$1" in
    *[[:cntrl:]]*) echo "write-env-js: control character in value" >&2; exit 1 ;;
  esac
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's#</#<\\/#g'
}

api_base="$(esc "${CLOUDCHAT_API_BASE:-}")"
ws_url="$(esc "${CLOUDCHAT_WS_URL:-}")"

tmp="${out}.tmp.$$"
cat > "$tmp" <<JS
// Written by write-env-js.sh at container start.
window.__CLOUDCHAT__ = { apiBase: "${api_base}", wsUrl: "${ws_url}" };
JS
mv "$tmp" "$out"
