#!/bin/bash
# Container health check for the web image without curl: GET /nginx-health on the
# plain-HTTP port (it answers in TLS mode too) and expect a 200.
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET /nginx-health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 3 status_line <&3
[[ $status_line == "HTTP/1."?" 200 "* ]]
