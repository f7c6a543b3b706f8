#!/usr/bin/env python3
"""Render the shipped nginx/ configuration into a temporary directory for tests.

The shipped files name upstream hosts that exist only inside docker compose or
Kubernetes (auth-service, ws-relay-1, ...), which nginx resolves when it loads its
configuration. This script copies nginx/ and rewrites ONLY:
  - `server HOST:PORT` lines inside upstreams/*.conf  (to 127.0.0.1:PORT, or to
    what --map says),
  - and, when asked, `listen 8080/8443` ports and the SPA `root` (for a live run),
then checks that no other line differs from the shipped tree, copies Debian's
mime.types, optionally makes a throw-away self-signed certificate, and runs the
image's entrypoint (docker/nginx-entrypoint.sh prepare) against the copy, so the
files that the container would generate at start-up are generated the same way.

Usage:
  render_nginx.py --out DIR [--upstreams compose|kubernetes] [--tls]
                  [--map ws-relay-2:8083=127.0.0.1:18084 ...]
                  [--http-port N] [--https-port N] [--html-root DIR]
Prints the rewritten lines. Exit status 1 on any unexpected difference.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER_RE = re.compile(r"^(\s*server\s+)([A-Za-z0-9.-]+):(\d+)(.*)$")
LISTEN_RE = re.compile(r"^(\s*listen\s+)(8080|8443)(\b.*)$")
ROOT_RE = re.compile(r"^(\s*root\s+)/usr/share/nginx/html;(.*)$")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--upstreams", default="compose")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--map", action="append", default=[],
                    help="HOST:PORT=NEWHOST:NEWPORT for one upstream server")
    ap.add_argument("--http-port", type=int)
    ap.add_argument("--https-port", type=int)
    ap.add_argument("--html-root")
    args = ap.parse_args()

    mapping = {}
    for m in args.map:
        src, _, dst = m.partition("=")
        if not dst:
            print(f"bad --map {m!r}", file=sys.stderr)
            return 2
        mapping[src] = dst

    src_dir = REPO / "nginx"
    out = Path(args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src_dir, out, symlinks=True)
    shutil.copy("/etc/nginx/mime.types", out / "mime.types")
    html = Path(args.html_root).resolve() if args.html_root else out / "html"
    html.mkdir(parents=True, exist_ok=True)

    changed = []
    for path in sorted(out.rglob("*.conf")):
        rel = path.relative_to(out)
        lines = path.read_text().splitlines(keepends=True)
        new_lines = []
        in_upstream = False
        for line in lines:
            new = line
            stripped = line.strip()
            if stripped.startswith("upstream "):
                in_upstream = True
            elif stripped == "}":
                in_upstream = False
            m = SERVER_RE.match(line.rstrip("\n"))
            if in_upstream and m and str(rel).startswith("upstreams/"):
                key = f"{m.group(2)}:{m.group(3)}"
                dst = mapping.get(key, f"127.0.0.1:{m.group(3)}")
                new = f"{m.group(1)}{dst}{m.group(4)}\n"
            m = LISTEN_RE.match(line.rstrip("\n"))
            if m:
                port = {"8080": args.http_port, "8443": args.https_port}[m.group(2)]
                if port:
                    new = f"{m.group(1)}{port}{m.group(3)}\n"
            m = ROOT_RE.match(line.rstrip("\n"))
            if m and args.html_root:
                new = f"{m.group(1)}{html};{m.group(2)}\n"
            if new != line:
                changed.append(f"  {rel}: {line.strip()}  ->  {new.strip()}")
            new_lines.append(new)
        path.write_text("".join(new_lines))

    # Independent check: every differing line must be one of the three kinds above.
    for path in sorted(src_dir.rglob("*.conf")):
        rel = path.relative_to(src_dir)
        a = path.read_text().splitlines()
        b = (out / rel).read_text().splitlines()
        if len(a) != len(b):
            print(f"render_nginx: {rel}: line count changed", file=sys.stderr)
            return 1
        for x, y in zip(a, b):
            if x != y and not (SERVER_RE.match(x) or LISTEN_RE.match(x) or ROOT_RE.match(x)):
                print(f"render_nginx: {rel}: unexpected change: {x!r} -> {y!r}", file=sys.stderr)
                return 1

    if args.tls:
        certs = out / "certs"
        certs.mkdir(exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    env = dict(os.environ)
    env.update({
        "NGINX_CONF_DIR": str(out),
        "NGINX_HTML_DIR": str(html),
        "NGINX_UPSTREAMS": args.upstreams,
        "NGINX_TLS": "on" if args.tls else "off",
    })
    subprocess.run(["sh", str(REPO / "docker" / "nginx-entrypoint.sh"), "prepare"],
                   env=env, check=True)

    print(f"rendered {src_dir} -> {out} (upstreams={args.upstreams}, tls={'on' if args.tls else 'off'}); rewritten lines:")
    for c in changed:
        print(c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
