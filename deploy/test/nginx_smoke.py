#!/usr/bin/env python3
"""Live routing test of the shipped nginx configuration, with stub upstreams.

Starts real nginx (Debian's) on the rendered copy of nginx/ (see render_nginx.py),
in front of small stub servers that stand in for auth-service, chat-service and
two relays: each answers every HTTP request with JSON naming itself and echoing
what it received, and completes WebSocket handshakes, sending its name as the
first frame. It then checks, over real HTTP through nginx, the routing table of
the public REST paths (the services' OpenAPI documents), the SPA fallback and the /rooms navigation rule, that
/internal, /metrics, /healthz and /readyz are refused, the headers, caching,
gzip, the log format (no query strings), WebSocket upgrades to both relays, and
the rate limits. This is not the end-to-end test with the real services; it
checks nginx's half of that contract now.
Prints one line per check and "N passed, N failed"; exit status 1 on failure.
"""

import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn, TCPServer, StreamRequestHandler

HERE = Path(__file__).resolve().parent
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import free_port  # noqa: E402  (one port picker for every harness)


class Stub(ThreadingMixIn, TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(name):
    class Handler(StreamRequestHandler):
        def handle(self):
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = self.rfile.readline().decode("latin-1")
                    if h in ("\r\n", "\n", ""):
                        break
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    self.rfile.read(length)
                if headers.get("upgrade", "").lower() == "websocket":
                    accept = base64.b64encode(hashlib.sha1(
                        (headers["sec-websocket-key"] + WS_GUID).encode()).digest()).decode()
                    self.wfile.write((
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
                    payload = name.encode()
                    self.wfile.write(bytes([0x81, len(payload)]) + payload)
                    self.wfile.flush()
                    # Hold the connection until the client goes away.
                    while self.rfile.read(1):
                        pass
                    return
                body = json.dumps({"service": name, "method": method, "target": target,
                                   "headers": headers}).encode()
                self.wfile.write((
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"X-Request-Id: from-upstream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
                self.wfile.flush()
                if headers.get("connection", "").lower() == "close":
                    return
    return Handler


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            self.failed += 1
            print(f"  FAIL  {what} {detail}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="cloudchat-nginx-smoke-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user and read html/ from here
    html = work / "html"
    (html / "assets").mkdir(parents=True)
    (html / "index.html").write_text("<!doctype html><title>Cloud Chat</title><!-- spa-shell -->\n")
    (html / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    (html / "sw.js").write_text("self.addEventListener('push', () => {});\n")
    (html / "assets" / "index-3f2a9c1b.js").write_text("console.log('cloud chat');\n" * 200)

    ports = {name: free_port() for name in ("auth", "chat", "relay1", "relay2", "http")}
    stubs = [
        ("auth-service", ports["auth"]), ("chat-service", ports["chat"]),
        ("ws-relay-1", ports["relay1"]), ("ws-relay-2", ports["relay2"]),
    ]
    for name, port in stubs:
        srv = Stub(("127.0.0.1", port), make_handler(name))
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    conf = work / "conf"
    subprocess.run([sys.executable, str(HERE / "render_nginx.py"), "--out", str(conf),
                    "--upstreams", "compose",
                    "--map", f"auth-service:8081=127.0.0.1:{ports['auth']}",
                    "--map", f"chat-service:8082=127.0.0.1:{ports['chat']}",
                    "--map", f"ws-relay-1:8083=127.0.0.1:{ports['relay1']}",
                    "--map", f"ws-relay-2:8083=127.0.0.1:{ports['relay2']}",
                    "--http-port", str(ports["http"]), "--html-root", str(html)],
                   check=True, stdout=subprocess.DEVNULL)
    access_log = work / "access.log"
    with open(access_log, "wb") as log:
        nginx = subprocess.Popen(["nginx", "-e", "stderr", "-p", f"{conf}/", "-c", str(conf / "nginx.conf"),
                                  "-g", "daemon off;"], stdout=log, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", ports["http"]), timeout=0.2).close()
                break
            except OSError:
                if nginx.poll() is not None:
                    print(nginx.stderr.read().decode(), file=sys.stderr)
                    return 1
                time.sleep(0.1)
        return run_checks(ports["http"], access_log)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def request(port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def upstream_of(data):
    try:
        return json.loads(data)
    except ValueError:
        return {}


def ws_open(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Origin: http://localhost\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    while len(rest) < 2 or len(rest) < 2 + rest[1]:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    name = rest[2:2 + rest[1]].decode() if len(rest) >= 2 else ""
    return s, status, name


def run_checks(port, access_log) -> int:
    c = Checks()
    json_api = {"Accept": "application/json", "Authorization": "Bearer t"}
    nav = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    st, h, d = request(port, "GET", "/nginx-health")
    c.check("/nginx-health answers 200", st == 200 and d == b"ok\n", st)

    routes = [
        ("POST", "/auth/login", {"Content-Type": "application/json"}, "auth-service"),
        ("GET", "/auth/sessions", json_api, "auth-service"),
        # Single sign-on: browser navigations to auth-service, not the web app.
        ("GET", "/auth/oidc/start?returnTo=%2F", nav, "auth-service"),
        ("GET", "/auth/oidc/callback?code=c&state=s", nav, "auth-service"),
        ("GET", "/users/me", json_api, "auth-service"),
        ("GET", "/users?prefix=al", json_api, "auth-service"),
        ("GET", "/.well-known/jwks.json", {}, "auth-service"),
        ("GET", "/admin/users", json_api, "auth-service"),
        ("GET", "/admin/users?q=al&status=suspended", json_api, "auth-service"),
        ("PUT", "/admin/users/0190b1a2-0000-7000-8000-000000000001/role", json_api, "auth-service"),
        ("DELETE", "/admin/users/0190b1a2-0000-7000-8000-000000000001/suspension", json_api, "auth-service"),
        ("GET", "/rooms", json_api, "chat-service"),
        ("GET", "/rooms", {"Accept": "*/*"}, "chat-service"),
        ("POST", "/rooms", nav, "chat-service"),
        ("GET", "/rooms/5", json_api, "chat-service"),
        ("GET", "/rooms/5", {**nav, "Authorization": "Bearer t"}, "chat-service"),
        ("GET", "/rooms/5/messages?beforeSeq=10&limit=50", json_api, "chat-service"),
        ("POST", "/rooms/5/members", json_api, "chat-service"),
        ("PATCH", "/messages/7", json_api, "chat-service"),
        ("POST", "/ws-tickets", json_api, "chat-service"),
        ("POST", "/dms", json_api, "chat-service"),
        ("GET", "/mentions?before=9&limit=20", json_api, "chat-service"),
        ("GET", "/search?q=hello%20wor&sort=relevance", json_api, "chat-service"),
        ("GET", "/presence?userIds=a,b", json_api, "chat-service"),
        ("GET", "/push/vapid-public-key", json_api, "chat-service"),
        ("POST", "/push/subscriptions", json_api, "chat-service"),
        ("DELETE", "/push/subscriptions/0190b1a2-0000-7000-8000-000000000001", json_api, "chat-service"),
        ("PUT", "/notification-settings", json_api, "chat-service"),
        ("PUT", "/notification-settings/rooms/5", json_api, "chat-service"),
        # A digest's unsubscribe link opened in a browser is chat-service's page, not the SPA.
        ("GET", "/notifications/unsubscribe?user=u&sig=s", nav, "chat-service"),
        ("POST", "/notifications/unsubscribe?user=u&sig=s", {"Content-Type": "application/x-www-form-urlencoded"}, "chat-service"),
        # Moderation: accounts at auth-service, the rest at chat-service.
        ("GET", "/admin/users?q=al&status=suspended", json_api, "auth-service"),
        ("PUT", "/admin/users/0190b1a2-0000-7000-8000-000000000001/suspension", json_api, "auth-service"),
        ("GET", "/admin/audit?action=member.mute", json_api, "chat-service"),
        ("GET", "/admin/stats", json_api, "chat-service"),
        ("POST", "/messages/7/reports", json_api, "chat-service"),
        ("GET", "/reports?status=open", json_api, "chat-service"),
        ("POST", "/reports/3/resolve", json_api, "chat-service"),
        ("GET", "/blocks", json_api, "chat-service"),
        ("PUT", "/blocks/0190b1a2-0000-7000-8000-000000000001", json_api, "chat-service"),
        ("PUT", "/rooms/5/mutes/0190b1a2-0000-7000-8000-000000000001", json_api, "chat-service"),
        ("POST", "/uploads?filename=a.png", json_api, "chat-service"),
        ("POST", "/files/cookie", json_api, "chat-service"),
        ("DELETE", "/files/cookie", {}, "chat-service"),
        ("GET", "/files/0190b1a2-0000-7000-8000-000000000001", json_api, "chat-service"),
        # Opening a file in a browser tab is a navigation, and still reaches chat-service.
        ("GET", "/files/0190b1a2-0000-7000-8000-000000000001", nav, "chat-service"),
        ("GET", "/files/0190b1a2-0000-7000-8000-000000000001/thumbnail", nav, "chat-service"),
    ]
    for method, path, headers, want in routes:
        st, h, d = request(port, method, path, headers, b"{}" if method != "GET" else None)
        got = upstream_of(d)
        c.check(f"{method} {path} ({headers.get('Accept', '-')}) -> {want}",
                st == 200 and got.get("service") == want and got.get("target") == path,
                f"status={st} got={got.get('service')} target={got.get('target')}")

    # Uploads may be far larger than API bodies (client_max_body_size 26m on /uploads only).
    big = b"x" * (3 * 1024 * 1024)
    st, h, d = request(port, "POST", "/uploads?filename=big.bin", json_api, big)
    c.check("a 3 MiB upload reaches chat-service", st == 200 and upstream_of(d).get("service") == "chat-service", st)
    st, h, d = request(port, "POST", "/rooms", json_api, big)
    c.check("a 3 MiB body elsewhere is refused with 413", st == 413, st)

    st, h, d = request(port, "POST", "/auth/login", {"X-Forwarded-For": "6.6.6.6"}, b"{}")
    got = upstream_of(d).get("headers", {})
    c.check("X-Forwarded-For is the client address, not the client's claim",
            got.get("x-forwarded-for") == "127.0.0.1", got.get("x-forwarded-for"))
    c.check("X-Request-Id generated and passed on",
            len(got.get("x-request-id", "")) == 32 and h.get("x-request-id") == got.get("x-request-id"),
            (got.get("x-request-id"), h.get("x-request-id")))
    c.check("upstream keepalive (Connection header cleared)", got.get("connection", "") == "", got.get("connection"))
    st, h, d = request(port, "GET", "/rooms", {**json_api, "X-Request-Id": "client-req-12345"})
    c.check("a well-formed client X-Request-Id is kept",
            upstream_of(d).get("headers", {}).get("x-request-id") == "client-req-12345"
            and h.get("x-request-id") == "client-req-12345", h.get("x-request-id"))

    for path in ("/rooms", "/rooms/5", "/admin", "/admin/users", "/admin/users/5", "/login", "/general",
                 "/reset-password?token=resetsecret", "/", "/some/deep/link"):
        st, h, d = request(port, "GET", path, nav)
        c.check(f"browser navigation {path} -> SPA index.html (no-cache)",
                st == 200 and b"spa-shell" in d and h.get("cache-control") == "no-cache",
                f"status={st} cc={h.get('cache-control')} body={d[:60]!r}")

    for path in ("/internal/publish", "/internal/ws/connect", "/internal", "/metrics", "/healthz", "/readyz",
                 "/internal/connections/abc"):
        for method in ("GET", "POST"):
            st, h, d = request(port, method, path, {"x-internal-api-key": "guess"}, b"{}" if method == "POST" else None)
            c.check(f"{method} {path} refused (404, not proxied)",
                    st == 404 and b"service" not in d and h.get("content-type") == "application/problem+json",
                    f"status={st} body={d[:80]!r}")

    for path in ("/rooms/..%2Finternal/publish", "/rooms/%2e%2e/internal/publish", "/auth/../internal/publish",
                 "//internal/publish", "/rooms/5/..%5cinternal"):
        st, h, d = request(port, "POST", path, json_api, b"{}")
        c.check(f"path trick {path} refused (problem+json)", st in (400, 404) and b"service" not in d
                and h.get("content-type") == "application/problem+json", f"status={st} {d[:80]!r}")

    # Paths that climb above the root fail nginx's own request-line parsing: still a problem+json
    # 400, not a 500.
    for path in ("/rooms/%2E%2E/%2E%2E/internal/publish", "/../internal/publish", "/rooms/../../internal"):
        st, h, d = request(port, "POST", path, json_api, b"{}")
        c.check(f"unparsable path {path}: 400 bad_path", st == 400 and b'"bad_path"' in d
                and h.get("content-type") == "application/problem+json", f"status={st} {d[:80]!r}")

    st, h, d = request(port, "GET", "/assets/index-3f2a9c1b.js", {"Accept-Encoding": "gzip"})
    c.check("hashed asset: long immutable cache", st == 200 and "immutable" in h.get("cache-control", ""),
            h.get("cache-control"))
    c.check("hashed asset: gzip", h.get("content-encoding") == "gzip", h.get("content-encoding"))
    st, h, d = request(port, "GET", "/assets/missing-0000.js")
    c.check("missing hashed asset is a 404, not index.html", st == 404, st)
    st, h, d = request(port, "GET", "/env.js")
    c.check("/env.js generated by the entrypoint, no-cache",
            st == 200 and b"window.__CLOUDCHAT__" in d and h.get("cache-control") == "no-cache", d[:80])

    st, h, d = request(port, "GET", "/sw.js")
    c.check("/sw.js (the service worker, scope /): JavaScript, no-cache",
            st == 200 and b"push" in d and h.get("cache-control") == "no-cache"
            and "javascript" in h.get("content-type", ""), f"status={st} {h.get('cache-control')}")

    st, h, d = request(port, "GET", "/", nav)
    csp = h.get("content-security-policy", "")
    c.check("CSP with frame-ancestors 'none' and script-src 'self'",
            "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp, csp)
    c.check("X-Content-Type-Options nosniff", h.get("x-content-type-options") == "nosniff")
    c.check("Referrer-Policy set", h.get("referrer-policy") == "no-referrer")
    c.check("no HSTS over plain HTTP", "strict-transport-security" not in h)
    c.check("no server version", h.get("server") == "nginx", h.get("server"))
    st, h, d = request(port, "GET", "/rooms", json_api)
    c.check("API answers carry the security headers once", h.get("x-content-type-options") == "nosniff"
            and h.get("x-request-id") != "from-upstream", h.get("x-request-id"))

    s1, st1, n1 = ws_open(port, "/ws?ticket=wsticketsecret1")
    s2, st2, n2 = ws_open(port, "/ws?ticket=wsticketsecret2")
    c.check("WebSocket upgrade through nginx (101)", st1 == 101 and st2 == 101, (st1, st2))
    c.check("two open WebSockets land on the two relays", {n1, n2} == {"ws-relay-1", "ws-relay-2"}, (n1, n2))
    s1.close()
    s2.close()

    # Rate limit last: it spends this client address's /auth/ burst.
    statuses = []
    last = None
    for _ in range(40):
        st, h, d = request(port, "POST", "/auth/login", {}, b"{}")
        statuses.append(st)
        if st == 429:
            last = (h, d)
    c.check("/auth/ rate limit answers 429 past the burst", 429 in statuses and statuses[0] == 200,
            statuses)
    if last:
        h, d = last
        c.check("429 is problem+json with Retry-After",
                h.get("content-type") == "application/problem+json" and h.get("retry-after") == "1"
                and json.loads(d).get("code") == "rate_limited", (h.get("content-type"), d[:80]))

    time.sleep(0.3)
    log = access_log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    c.check("access log is JSON lines", len(lines) > 20, len(lines))
    c.check("access log never records query strings (ws tickets, reset tokens)",
            "wsticketsecret" not in log and "resetsecret" not in log and "prefix=al" not in log
            and any(entry["path"] == "/ws?-" for entry in lines))

    print(f"nginx-smoke: {c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
