#!/bin/sh
# Entrypoint of the web image (nginx + the built SPA).
#
# At every container start it writes, from environment variables:
#   $html/env.js             window.__CLOUDCHAT__ = { apiBase, wsUrl, uploadMaxBytes } for the SPA
#   $conf/runtime/csp.conf   CSP connect-src: 'self' plus the origins above
#   $conf/runtime/real-ip.conf  trusted proxies in front of nginx (X-Forwarded-For)
#   $conf/sites-enabled/     the upstream set and the server blocks to load
# then runs the given command (nginx in the foreground by default).
#
#   PUBLIC_API_BASE     API base URL or path prefix for the SPA ("" = same origin)
#   PUBLIC_WS_URL       WebSocket URL for the SPA ("" = derived from the API base)
#   UPLOAD_MAX_BYTES    chat-service's upload limit, so the SPA refuses a larger file
#                       before sending it ("" = the SPA's default, 25 MiB)
#   NGINX_UPSTREAMS     compose (ws-relay-1, ws-relay-2) | kubernetes (Services)
#   NGINX_TLS           off (HTTP on 8080) | on (HTTPS on 8443, 8080 redirects)
#   NGINX_REAL_IP_FROM  comma-separated CIDRs of a load balancer in front of nginx
#
# `nginx-entrypoint.sh prepare` only writes the files (used by the test harness,
# with NGINX_CONF_DIR and NGINX_HTML_DIR pointing at a temporary copy).
set -eu

conf=${NGINX_CONF_DIR:-/etc/nginx}
html=${NGINX_HTML_DIR:-/usr/share/nginx/html}
upstreams=${NGINX_UPSTREAMS:-compose}
tls=${NGINX_TLS:-off}
api_base=${PUBLIC_API_BASE:-}
ws_url=${PUBLIC_WS_URL:-}
real_ip_from=${NGINX_REAL_IP_FROM:-}
upload_max=${UPLOAD_MAX_BYTES:-}

fail() {
    echo "nginx-entrypoint: $*" >&2
    exit 1
}

# Values end up inside a JavaScript string and an nginx string: allow only URL
# characters (no quotes, backslashes, spaces or semicolons).
check_url() {
    name=$1 value=$2
    [ -z "$value" ] && return 0
    printf '%s' "$value" | grep -Eq '^((https?|wss?)://[A-Za-z0-9.-]+(:[0-9]{1,5})?)?(/[A-Za-z0-9._~/-]*)?$' \
        || fail "$name must be an http(s)/ws(s) URL or a path, got '$value'"
}

# scheme://host[:port] of an absolute URL, nothing for a path.
origin_of() {
    printf '%s' "$1" | sed -n 's#^\([a-z]*://[^/]*\).*#\1#p'
}

check_url PUBLIC_API_BASE "$api_base"
check_url PUBLIC_WS_URL "$ws_url"

# --- env.js -------------------------------------------------------------------
case "$upload_max" in
    '') upload_js='' ;;
    *[!0-9]*) fail "UPLOAD_MAX_BYTES must be a number of bytes, got '$upload_max'" ;;
    *) upload_js=", uploadMaxBytes: $upload_max" ;;
esac
printf 'window.__CLOUDCHAT__ = { apiBase: "%s", wsUrl: "%s"%s };\n' "$api_base" "$ws_url" "$upload_js" \
    > "$html/env.js"

# --- CSP connect-src ------------------------------------------------------------
connect="'self'"
api_origin=$(origin_of "$api_base")
if [ -n "$api_origin" ]; then
    # The SPA derives the WebSocket URL from an absolute API base (http -> ws).
    connect="$connect $api_origin $(printf '%s' "$api_origin" | sed 's#^http#ws#')"
fi
ws_origin=$(origin_of "$ws_url")
[ -n "$ws_origin" ] && connect="$connect $ws_origin"
cat > "$conf/runtime/csp.conf" <<CSP
# Written by nginx-entrypoint.sh from PUBLIC_API_BASE / PUBLIC_WS_URL.
map \$host \$cloudchat_csp_connect_src {
    default "$connect";
}
CSP

# --- trusted proxies in front of nginx --------------------------------------------
{
    echo "# Written by nginx-entrypoint.sh from NGINX_REAL_IP_FROM."
    if [ -n "$real_ip_from" ]; then
        for cidr in $(printf '%s' "$real_ip_from" | tr ',' ' '); do
            printf '%s' "$cidr" | grep -Eq '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' \
                || fail "NGINX_REAL_IP_FROM: '$cidr' is not an IP address or CIDR"
            echo "set_real_ip_from $cidr;"
        done
        echo "real_ip_header X-Forwarded-For;"
        echo "real_ip_recursive on;"
    fi
} > "$conf/runtime/real-ip.conf"

# --- which upstreams and servers ----------------------------------------------------
case "$upstreams" in
    compose|kubernetes) ;;
    *) fail "NGINX_UPSTREAMS must be compose or kubernetes, got '$upstreams'" ;;
esac
rm -f "$conf"/sites-enabled/*.conf
ln -s "../upstreams/$upstreams.conf" "$conf/sites-enabled/00-upstreams.conf"
case "$tls" in
    on|true|1)
        for f in fullchain.pem privkey.pem; do
            [ -r "$conf/certs/$f" ] || fail "NGINX_TLS=on but $conf/certs/$f is missing or unreadable"
        done
        ln -s ../sites-available/https.conf "$conf/sites-enabled/10-https.conf"
        ln -s ../sites-available/http-redirect.conf "$conf/sites-enabled/20-http-redirect.conf"
        ;;
    off|false|0)
        ln -s ../sites-available/http.conf "$conf/sites-enabled/10-http.conf"
        ;;
    *)
        fail "NGINX_TLS must be on or off, got '$tls'"
        ;;
esac

echo "nginx-entrypoint: upstreams=$upstreams tls=$tls apiBase='$api_base' wsUrl='$ws_url' connect-src=$connect" >&2

if [ "${1:-}" = prepare ]; then
    exit 0
fi
exec "$@"
