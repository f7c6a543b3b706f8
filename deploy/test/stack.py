"""What the live test harnesses share: starting Cloud Chat as real processes and talking to it.

Used by e2e_deploy.py (the deployment end to end) and abuse.py (the abuse suite):
  - free ports, an HTTP helper that can pick its source address (127.0.0.0/8 is all
    loopback on Linux, so 127.0.0.2 and 127.0.0.3 are two client addresses), and a
    counter of checks printing one line each;
  - `Stack`: auth-service, chat-service and two relays as separate processes on loopback
    ports, on fresh PostgreSQL databases, sharing fan-out over Redis, in APP_ENV=production;
  - `start_nginx`: the shipped nginx/ configuration rendered (render_nginx.py) in front of a
    Stack;
  - `QuickStart`: the one-process `cloudchat` binary with its own data directory;
  - `RedisServer`: a private redis-server on a free port, which a test may kill and restart.
"""

import asyncio
from http import client as http_client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# Internal keys, one per calling service; every process gets all three here (a service reads
# only those it presents or accepts).
INTERNAL_KEY_VARS = ("RELAY_INTERNAL_KEY", "CHAT_INTERNAL_KEY", "AUTH_INTERNAL_KEY")
INTERNAL_KEY_HEADER = "x-internal-api-key"


_HANDED_OUT: set = set()


def free_port() -> int:
    """A port free on every address now, never handed out before by this process, and below
    the kernel's ephemeral range: a port picked from that range (bind to port 0) can be taken
    by any outgoing connection between the pick and the server's own bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    low, high = 20000, max(20001, min(32000, ephemeral - 1))
    for _ in range(2000):
        port = secrets.randbelow(high - low) + low
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port between {low} and {high}")


def http(method, url, body=None, token=None, headers=None, source=None, data=None, timeout=15):
    """One request; returns (status, headers, raw body). `data` sends raw bytes as JSON;
    `source` is the client's address. The path is sent exactly as given (no normalisation).
    A connection the server cut while the body was still being sent answers status 0."""
    parts = urllib.parse.urlsplit(url)
    conn = http_client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if data is None and body is not None:
        data = json.dumps(body).encode()
    sent = {}
    if data is not None:
        sent["content-type"] = "application/json"
    if token:
        sent["authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    try:
        try:
            conn.request(method, target, body=data, headers=sent)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) before reading the whole body
        try:
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        except (ConnectionResetError, http_client.RemoteDisconnected, BrokenPipeError):
            return 0, {}, b""
    finally:
        conn.close()


def as_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Checks:
    """Counts checks and prints one line per check."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}", flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name} {str(detail)[:300]}", flush=True)
        return ok

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def wait_until(probe, what, timeout=30, proc=None, log=None):
    """Polls `probe()` until it is true; fails early when `proc` exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited; see {log}")
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout}s; see {log}")


def stop_process(proc, timeout=30):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stack:
    """The four service processes, their environment, and how to (re)start them.

    `extra_env` is added to every service's environment (limits a test wants lower)."""

    def __init__(self, work: Path, bin_dir, pg_host="127.0.0.1:5432", redis="redis://127.0.0.1:6379",
                 extra_env=None, bcrypt_cost=10):
        self.work = work
        self.bin = Path(bin_dir)
        self.pg_host = pg_host
        self.procs = {}
        self.ports = {name: free_port() for name in ("auth", "chat", "relay1", "relay2", "nginx")}
        self.origin = f"http://127.0.0.1:{self.ports['nginx']}"
        suffix = secrets.token_hex(4)
        self.databases = [f"cce2e_auth_{suffix}", f"cce2e_chat_{suffix}"]
        self.private_key = subprocess.run([str(self.bin / "auth-service"), "keygen"], check=True,
                                          capture_output=True, text=True).stdout
        password = "e2e-" + secrets.token_hex(12)  # trust auth here; production mode wants one
        self.keys = {var: secrets.token_hex(32) for var in INTERNAL_KEY_VARS}
        self.issuer, self.audience = "cloudchat-e2e", "cloudchat-e2e"
        common = {
            "APP_ENV": "production",
            "LOG_FORMAT": "json",
            "RUST_LOG": "info",
            **self.keys,
            "JWT_ISSUER": self.issuer,
            "JWT_AUDIENCE": self.audience,
            "ALLOWED_ORIGINS": f"{self.origin},http://localhost:{self.ports['nginx']}",
            "TRUSTED_PROXIES": "127.0.0.1",
            "PATH": os.environ.get("PATH", ""),
            **(extra_env or {}),
        }
        auth_url = f"http://127.0.0.1:{self.ports['auth']}"
        chat_url = f"http://127.0.0.1:{self.ports['chat']}"
        relay_url = f"http://127.0.0.1:{self.ports['relay1']}"
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.env = {
            "auth": {**common, "BIND_ADDR": f"127.0.0.1:{self.ports['auth']}",
                     "DATABASE_URL": f"postgres://postgres:{password}@{pg_host}/{self.databases[0]}",
                     "JWT_PRIVATE_KEY": self.private_key, "PUBLIC_URL": self.origin, "RELAY_URL": relay_url,
                     "CHAT_URL": chat_url,
                     "BCRYPT_COST": str(bcrypt_cost), "REDIS_URL": redis},
            "chat": {**common, "BIND_ADDR": f"127.0.0.1:{self.ports['chat']}",
                     "DATABASE_URL": f"postgres://postgres:{password}@{pg_host}/{self.databases[1]}",
                     "AUTH_URL": auth_url, "RELAY_URL": relay_url,
                     # Uploaded files in the run's own directory (not ./data of the checkout).
                     "STORAGE_URL": f"file://{Path(work).resolve() / 'chat-files'}"},
        }
        self.redis_prefix = f"cce2e-{suffix}"
        for i, name in ((1, "relay1"), (2, "relay2")):
            self.env[name] = {**common, "BIND_ADDR": f"127.0.0.1:{self.ports[name]}",
                              "CHAT_URL": chat_url, "AUTH_URL": auth_url, "REDIS_URL": redis,
                              "REDIS_PREFIX": self.redis_prefix, "RELAY_ID": f"relay-{i}",
                              "SHUTDOWN_DRAIN_SECS": "5"}
        self.binary = {"auth": "auth-service", "chat": "chat-service",
                       "relay1": "ws-relay", "relay2": "ws-relay"}

    def psql(self, sql):
        subprocess.run(["psql", "-h", self.pg_host.split(":")[0], "-U", "postgres", "-q",
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

    def ready(self, name) -> bool:
        return http("GET", f"{self.urls[name]}/readyz", timeout=3)[0] == 200

    def wait_ready(self, name, timeout=30):
        wait_until(lambda: self.ready(name), name, timeout, self.procs[name], self.work / f"{name}.log")

    def stop(self, name):
        stop_process(self.procs.get(name))

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

    def internal(self, method, service, path, body=None, caller="CHAT_INTERNAL_KEY"):
        """A call to a service's /internal/... API as a legitimate caller, with its own key."""
        url = f"{self.urls[service]}{path}"
        return http(method, url, body, headers={INTERNAL_KEY_HEADER: self.keys[caller]})

    def relay_holding(self, connection_id: str):
        """Which relay holds the connection, asked of each relay directly (@connections API)."""
        return [name for name in ("relay1", "relay2")
                if self.internal("GET", name, f"/internal/connections/{connection_id}")[0] == 200]


def start_nginx(stack: Stack, work: Path, html: Path):
    """The shipped nginx configuration in front of `stack`, serving `html` (a copy is made)."""
    served = work / "html"
    shutil.copytree(html, served)
    conf = work / "nginx"
    maps = [f"auth-service:8081=127.0.0.1:{stack.ports['auth']}",
            f"chat-service:8082=127.0.0.1:{stack.ports['chat']}",
            f"ws-relay-1:8083=127.0.0.1:{stack.ports['relay1']}",
            f"ws-relay-2:8083=127.0.0.1:{stack.ports['relay2']}"]
    cmd = [sys.executable, str(HERE / "render_nginx.py"), "--out", str(conf), "--upstreams", "compose",
           "--http-port", str(stack.ports["nginx"]), "--html-root", str(served)]
    for m in maps:
        cmd += ["--map", m]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    log_path = work / "nginx.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(["nginx", "-e", "stderr", "-p", f"{conf}/", "-c", str(conf / "nginx.conf"),
                             "-g", "daemon off;"], stdout=log, stderr=log)
    try:
        wait_until(lambda: http("GET", f"{stack.origin}/nginx-health", timeout=3)[0] == 200,
                   "nginx", 15, proc, log_path)
    except RuntimeError:
        stop_process(proc, 10)
        raise
    return proc


def tiny_web_app(work: Path) -> Path:
    """A stand-in for web/dist: an index.html is all the front doors need to serve."""
    html = work / "tiny-web"
    html.mkdir(exist_ok=True)
    (html / "index.html").write_text('<!doctype html><title>Cloud Chat</title><div id="root"></div>\n')
    return html


class QuickStart:
    """The one-process quick start (`cloudchat`) on a free port, with its own DATA_DIR."""

    def __init__(self, work: Path, bin_dir, extra_env=None, web_dir=None):
        self.work = work
        self.bin = Path(bin_dir) / "cloudchat"
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.data_dir = work / "quickstart-data"
        self.log = work / "quickstart.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(self.data_dir),
            "WEB_DIR": str(web_dir or tiny_web_app(work)),
            "BCRYPT_COST": "4",
            "LOG_FORMAT": "json",
            "RUST_LOG": "info",
            **(extra_env or {}),
        }
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=60):
        log = open(self.log, "ab")
        self.proc = subprocess.Popen([str(self.bin)], env=self.env, stdout=log, stderr=log)
        # The JWKS answers once the front door and auth-service both serve (readiness probes
        # may be on another port).
        wait_until(lambda: http("GET", f"{self.origin}/.well-known/jwks.json", timeout=3)[0] == 200,
                   "cloudchat", timeout, self.proc, self.log)

    def stop(self):
        stop_process(self.proc)


class RedisServer:
    """A private redis-server on a free port: a test may kill it (cutting the relays off) and
    start it again on the same port."""

    def __init__(self, work: Path):
        self.work = work
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        log = open(self.work / "redis.log", "ab")
        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                                      "--save", "", "--appendonly", "no", "--dir", str(self.work)],
                                     stdout=log, stderr=log)
        wait_until(lambda: self.command("PING") == b"+PONG", "redis-server", 15, self.proc,
                   self.work / "redis.log")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def command(self, *args) -> bytes:
        """One command in RESP; returns the first line of the answer."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as s:
            s.sendall(out)
            return s.recv(4096).split(b"\r\n")[0]


async def recv_until(ws, predicate, timeout=10):
    """The first frame that matches; TimeoutError if none within `timeout`."""
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError("no matching frame")
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=left)
        except asyncio.TimeoutError:
            raise TimeoutError("no matching frame") from None
        frame = json.loads(raw)
        if predicate(frame):
            return frame
