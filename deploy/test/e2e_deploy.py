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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import websockets

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as res:
            raw = res.read()
            return res.status, res.headers, raw
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def as_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")


class Stack:
    """The four service processes, their environment, and how to (re)start them."""

    def __init__(self, args, work: Path):
        self.args = args
        self.work = work
        self.bin = Path(args.bin_dir)
        self.procs = {}
        self.ports = {name: free_port() for name in ("auth", "chat", "relay1", "relay2", "nginx")}
        self.origin = f"http://127.0.0.1:{self.ports['nginx']}"
        suffix = secrets.token_hex(4)
        self.databases = [f"cce2e_auth_{suffix}", f"cce2e_chat_{suffix}"]
        key = subprocess.run([str(self.bin / "auth-service"), "keygen"], check=True,
                             capture_output=True, text=True).stdout
        password = "e2e-" + secrets.token_hex(12)  # trust auth here; production mode wants one
        pg = args.pg_host
        common = {
            "APP_ENV": "production",
            "LOG_FORMAT": "json",
            "RUST_LOG": "info",
            # One internal key per calling service; every process gets all three here
            # (a service reads only those it presents or accepts).
            "RELAY_INTERNAL_KEY": secrets.token_hex(32),
            "CHAT_INTERNAL_KEY": secrets.token_hex(32),
            "AUTH_INTERNAL_KEY": secrets.token_hex(32),
            "JWT_ISSUER": "cloudchat-e2e",
            "JWT_AUDIENCE": "cloudchat-e2e",
            "ALLOWED_ORIGINS": f"{self.origin},http://localhost:{self.ports['nginx']}",
            "TRUSTED_PROXIES": "127.0.0.1",
            "PATH": os.environ.get("PATH", ""),
        }
        auth_url = f"http://127.0.0.1:{self.ports['auth']}"
        chat_url = f"http://127.0.0.1:{self.ports['chat']}"
        relay_url = f"http://127.0.0.1:{self.ports['relay1']}"
        self.env = {
            "auth": {**common, "BIND_ADDR": f"127.0.0.1:{self.ports['auth']}",
                     "DATABASE_URL": f"postgres://postgres:{password}@{pg}/{self.databases[0]}",
                     "JWT_PRIVATE_KEY": key, "PUBLIC_URL": self.origin, "RELAY_URL": relay_url,
                     "BCRYPT_COST": "10", "REDIS_URL": args.redis},
            "chat": {**common, "BIND_ADDR": f"127.0.0.1:{self.ports['chat']}",
                     "DATABASE_URL": f"postgres://postgres:{password}@{pg}/{self.databases[1]}",
                     "AUTH_URL": auth_url, "RELAY_URL": relay_url},
        }
        prefix = f"cce2e-{suffix}"
        for i, name in ((1, "relay1"), (2, "relay2")):
            self.env[name] = {**common, "BIND_ADDR": f"127.0.0.1:{self.ports[name]}",
                              "CHAT_URL": chat_url, "AUTH_URL": auth_url, "REDIS_URL": args.redis,
                              "REDIS_PREFIX": prefix, "RELAY_ID": f"relay-{i}",
                              "SHUTDOWN_DRAIN_SECS": "5"}
        self.binary = {"auth": "auth-service", "chat": "chat-service",
                       "relay1": "ws-relay", "relay2": "ws-relay"}

    def psql(self, sql):
        subprocess.run(["psql", "-h", self.args.pg_host.split(":")[0], "-U", "postgres", "-q",
                        "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, stdout=subprocess.DEVNULL)

    def create_databases(self):
        for db in self.databases:
            self.psql(f"CREATE DATABASE {db}")
        for name in ("auth", "chat"):
            subprocess.run([str(self.bin / self.binary[name]), "migrate"], env=self.env[name],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, name):
        log = open(self.work / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([str(self.bin / self.binary[name])], env=self.env[name],
                                            stdout=log, stderr=log)

    def wait_ready(self, name, timeout=30):
        deadline = time.time() + timeout
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        while time.time() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.work / (name + '.log')}")
            try:
                if http("GET", url)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready after {timeout}s; see {self.work / (name + '.log')}")

    def stop(self, name):
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def start_all(self):
        for name in ("auth", "chat", "relay1", "relay2"):
            self.start(name)
            self.wait_ready(name)

    def restart(self, names):
        for name in names:
            self.stop(name)
        for name in names:
            self.start(name)
            self.wait_ready(name)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)
        for db in self.databases:
            try:
                self.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            except subprocess.CalledProcessError:
                pass


def start_nginx(stack: Stack, work: Path):
    html = work / "html"
    shutil.copytree(stack.args.web_dist, html)
    conf = work / "nginx"
    maps = [f"auth-service:8081=127.0.0.1:{stack.ports['auth']}",
            f"chat-service:8082=127.0.0.1:{stack.ports['chat']}",
            f"ws-relay-1:8083=127.0.0.1:{stack.ports['relay1']}",
            f"ws-relay-2:8083=127.0.0.1:{stack.ports['relay2']}"]
    cmd = [sys.executable, str(HERE / "render_nginx.py"), "--out", str(conf), "--upstreams", "compose",
           "--http-port", str(stack.ports["nginx"]), "--html-root", str(html)]
    for m in maps:
        cmd += ["--map", m]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    log = open(work / "nginx.log", "ab")
    proc = subprocess.Popen(["nginx", "-e", "stderr", "-p", f"{conf}/", "-c", str(conf / "nginx.conf"),
                             "-g", "daemon off;"], stdout=log, stderr=log)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            if http("GET", f"{stack.origin}/nginx-health")[0] == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not start; see {work / 'nginx.log'}")


async def recv_until(ws, predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.time()))
        frame = json.loads(raw)
        if predicate(frame):
            return frame
    raise TimeoutError("no matching frame")


def relay_holding(stack: Stack, connection_id: str):
    """Which relay holds the connection, asked of each relay directly (@connections API,
    which relays open to chat-service's key only)."""
    holders = []
    for name in ("relay1", "relay2"):
        status, _, _ = http("GET", f"http://127.0.0.1:{stack.ports[name]}/internal/connections/{connection_id}",
                            headers={"x-internal-api-key": stack.env[name]["CHAT_INTERNAL_KEY"]})
        if status == 200:
            holders.append(name)
    return holders


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
        held_a = relay_holding(stack, ready_a["connectionId"])
        held_b = relay_holding(stack, ready_b["connectionId"])
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
    env = {**os.environ, "E2E_BASE_URL": stack.origin, "E2E_RESTART_CMD": str(restart),
           "E2E_SCREENSHOTS": "0"}
    result = subprocess.run(["npm", "--prefix", str(REPO / "web"), "run", "e2e"], env=env)
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
    stack = Stack(args, work)
    c = Checks()
    nginx = None
    try:
        stack.create_databases()
        stack.start_all()
        nginx = start_nginx(stack, work)
        api_checks(stack, c)
        if args.spa:
            spa_suite(stack, work, c)
    except Exception as e:  # noqa: BLE001 - report any failure as a failed check, with logs
        c.check("the stack runs", False, repr(e))
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait(timeout=10)
        stack.stop_all()
        if c.failed:
            for log in sorted(work.glob("*.log")):
                print(f"--- {log.name} (last lines)")
                print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        shutil.rmtree(work, ignore_errors=True)
    print(f"e2e-deploy: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
