#!/usr/bin/env python3
"""End-to-end through real nginx in front of the real services.

Starts, as separate processes on loopback ports: auth-service and chat-service on fresh
PostgreSQL databases, two ws-relays sharing fan-out over Redis, all in APP_ENV=production with
generated secrets; renders the shipped nginx/ configuration with its upstreams mapped to those
ports (render_nginx.py) and starts Debian's nginx in front, serving the built web app. Then,
through nginx only: register, log in, create a room, add a member, open two WebSockets — one
on each relay — and see a message sent on one arrive on the other; /internal/... and /metrics
refused; index.html served for deep links. With --spa it also runs the web app's browser suite
(web/e2e) through nginx, restarting chat-service and both relays mid-conversation.

Prints one line per check and closes with 'N passed, N failed'. Exit status 1 on any failure.
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import websockets

from stack import REPO, Checks, Stack, as_json, http, recv_until, start_nginx, stop_process


async def websocket_checks(stack: Stack, c: Checks, alice, bob, room):
    ws_base = stack.origin.replace("http://", "ws://")

    def ticket(user):
        status, _, raw = http("POST", f"{stack.origin}/ws-tickets", {}, token=user["accessToken"])
        return as_json(raw)["ticket"] if status == 201 else None

    headers = {"Origin": stack.origin}
    async with websockets.connect(f"{ws_base}/ws?ticket={ticket(alice)}", additional_headers=headers) as wa, \
            websockets.connect(f"{ws_base}/ws?ticket={ticket(bob)}", additional_headers=headers) as wb:
        ready_a = await recv_until(wa, lambda f: f["type"] == "ready")
        ready_b = await recv_until(wb, lambda f: f["type"] == "ready")
        c.check("both sockets get ready with the room", room in ready_a["rooms"] and room in ready_b["rooms"],
                (ready_a, ready_b))
        held_a = stack.relay_holding(ready_a["connectionId"])
        held_b = stack.relay_holding(ready_b["connectionId"])
        c.check("the two sockets landed on different relays", len(held_a) == 1 and len(held_b) == 1
                and held_a != held_b, (held_a, held_b))
        await wa.send(json.dumps({"action": "sendMessage", "id": "m1", "roomId": room,
                                  "content": "across relays", "clientMsgId": secrets.token_hex(8)}))
        ack = await recv_until(wa, lambda f: f["type"] == "ack")
        c.check("the sender gets an ack with the stored message", ack.get("id") == "m1"
                and ack["message"]["content"] == "across relays", ack)
        got = await recv_until(wb, lambda f: f["type"] == "message")
        c.check("the message sent on one relay arrives on the other",
                got["message"]["content"] == "across relays" and got["message"]["seq"] == ack["message"]["seq"], got)
        await wb.send(json.dumps({"action": "ping", "id": "p"}))
        pong = await recv_until(wb, lambda f: f["type"] == "pong")
        c.check("ping answered through nginx", pong.get("id") == "p", pong)
    try:
        async with websockets.connect(f"{ws_base}/ws?ticket={ticket(alice)}",
                                      additional_headers={"Origin": "https://evil.example"}):
            c.check("a foreign Origin is refused", False)
    except websockets.exceptions.InvalidStatus as e:
        c.check("a foreign Origin is refused before the upgrade", e.response.status_code == 403, e.response.status_code)


def api_checks(stack: Stack, c: Checks):
    o = stack.origin
    password = "correct horse battery"
    users = {}
    for name in ("alice", "bob"):
        status, headers, raw = http("POST", f"{o}/auth/register",
                                    {"username": f"{name}{secrets.token_hex(3)}", "email": f"{name}-{secrets.token_hex(3)}@example.com",
                                     "password": password})
        c.check(f"register {name} through nginx (201)", status == 201, (status, raw[:200]))
        users[name] = as_json(raw)
    alice, bob = users["alice"], users["bob"]
    status, headers, raw = http("POST", f"{o}/auth/login", {"email": alice["user"]["email"], "password": password})
    c.check("log in through nginx (200, refresh cookie)", status == 200 and "refresh_token=" in (headers.get("set-cookie") or ""),
            (status, headers.get("set-cookie")))
    alice.update(as_json(raw) or {})
    status, _, raw = http("POST", f"{o}/rooms", {"name": f"e2e-{secrets.token_hex(3)}"}, token=alice["accessToken"])
    room = (as_json(raw) or {}).get("id")
    c.check("create a room (201)", status == 201 and isinstance(room, int), (status, raw[:200]))
    status, _, raw = http("POST", f"{o}/rooms/{room}/members", {"username": bob["user"]["username"]},
                          token=alice["accessToken"])
    c.check("add a member by username (201)", status == 201, (status, raw[:200]))
    status, _, raw = http("GET", f"{o}/rooms/{room}", token=bob["accessToken"], headers={"accept": "application/json"})
    c.check("the member sees the room through nginx", status == 200 and as_json(raw)["id"] == room, status)
    for path in ("/internal/users/by-username/x", "/internal/ws/connect", "/internal/publish", "/metrics"):
        status, _, _ = http("POST" if "ws" in path or "publish" in path else "GET", f"{o}{path}", {} if "ws" in path or "publish" in path else None)
        c.check(f"{path} is not reachable through nginx", status in (403, 404), status)
    for path in ("/rooms/5", "/chat/5", "/my-rooms"):
        status, headers, raw = http("GET", f"{o}{path}", headers={"accept": "text/html"})
        c.check(f"deep link {path} serves index.html", status == 200 and b'<div id="root"' in raw, (status, raw[:80]))
    asyncio.run(websocket_checks(stack, c, alice, bob, room))


def spa_suite(stack: Stack, work: Path, c: Checks):
    marker = work / "restarted"
    restart = work / "restart.sh"
    restart.write_text(f"#!/bin/sh\nrm -f {marker}\nkill -USR1 {os.getpid()}\n"
                       f"while [ ! -f {marker} ]; do sleep 0.1; done\n")
    restart.chmod(0o755)

    def on_restart(_sig, _frame):
        stack.restart(["chat", "relay1", "relay2"])
        marker.touch()

    signal.signal(signal.SIGUSR1, on_restart)
    # The first admin is named as a deployment names it: auth-service's own command on its
    # database, while it runs.
    admin = work / "admin.sh"
    auth_env = " ".join(f"{k}={shlex.quote(v)}" for k, v in stack.env["auth"].items())
    admin.write_text(f"#!/bin/sh\nexec env -i {auth_env} {shlex.quote(str(stack.bin / 'auth-service'))} admin \"$@\"\n")
    admin.chmod(0o755)
    env = {**os.environ, "E2E_BASE_URL": stack.origin, "E2E_RESTART_CMD": str(restart),
           "E2E_ADMIN_CMD": f"{admin} grant", "E2E_SCREENSHOTS": "0"}
    # Every suite but single sign-on and e-mail verification, which need a provider and an
    # SMTP server the quick start's run starts (scripts/e2e-web.sh); neither side changes
    # behind nginx, which routes /auth/ to auth-service as for every other /auth call.
    suites = sorted(str(p.relative_to(REPO / "web")) for p in (REPO / "web" / "e2e").glob("*.test.mjs")
                    if p.name not in ("sso.test.mjs", "verify.test.mjs"))
    result = subprocess.run(["node", "--test", *suites], cwd=REPO / "web", env=env)
    c.check("the web app's browser suite passes through nginx", result.returncode == 0, result.returncode)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=str(REPO / "target" / "debug"))
    ap.add_argument("--web-dist", default=str(REPO / "web" / "dist"))
    ap.add_argument("--pg-host", default="127.0.0.1:5432")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379")
    ap.add_argument("--spa", action="store_true", help="also run web/e2e through nginx")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cloudchat-e2e-deploy-"))
    work.chmod(0o755)  # nginx workers read html/ from here
    # The browser suite watches a user go offline: a short presence grace keeps that quick.
    stack = Stack(work, args.bin_dir, args.pg_host, args.redis, extra_env={"RELAY_PRESENCE_GRACE_SECS": "1"})
    c = Checks()
    nginx = None
    try:
        stack.create_databases()
        stack.start_all()
        nginx = start_nginx(stack, work, Path(args.web_dist))
        api_checks(stack, c)
        if args.spa:
            spa_suite(stack, work, c)
    except Exception as e:  # noqa: BLE001 - report any failure as a failed check, with logs
        c.check("the stack runs", False, repr(e))
    finally:
        stop_process(nginx, 10)
        stack.stop_all()
        if c.failed:
            for log in sorted(work.glob("*.log")):
                print(f"--- {log.name} (last lines)")
                print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        shutil.rmtree(work, ignore_errors=True)
    print(f"e2e-deploy: {c.summary()}")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
