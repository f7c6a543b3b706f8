#!/usr/bin/env python3
"""The abuse suite: attacks the running quick start and the PostgreSQL stack from outside, over
HTTP and WebSocket, and asserts the safe answer for each attack (docs/abuse.md lists them).

Starts (stack.py) the quick start (`cloudchat`, its own DATA_DIR) and then the PostgreSQL stack
(auth-service, chat-service, two relays, a private redis-server, real nginx in front), with a
few limits lowered so the attacks are cheap (SUITE_ENV). Each attacker, victim and bystander
talks from its own loopback address (127.x.y.z), so per-address limits apply to them one by one
as they would to clients on the Internet.

Prints one line per check and closes with 'N passed, N failed'. Exit status 1 on any failure.
  --only quick|postgres   one stack;   --cases a,b   only the named cases (see CASES)
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stack import (INTERNAL_KEY_HEADER, REPO, Checks, QuickStart, RedisServer, Stack, as_json, http,
                   recv_until, start_nginx, stop_process, tiny_web_app, wait_until)

# Limits lowered for the suite; everything else keeps its default.
SUITE_ENV = {
    "CHAT_ROOM_CREATES_PER_HOUR": "5",
    "RELAY_CONNECTS_PER_MINUTE": "30",
    "REVOCATION_POLL_MS": "500",
    "RELAY_ROOMS_RECHECK_SECS": "2",
    # The memory attack's room of 200 big messages is written over REST.
    "CHAT_SEND_LIMIT": "100000",
}
PASSWORD = "correct horse battery"
# A large max_queue: frames a test does not read must not stall the close handshake.
WS_OPTIONS = {"ping_interval": None, "compression": None, "proxy": None, "open_timeout": 10,
              "max_queue": 4096, "close_timeout": 2}
MIB = 1024 * 1024


class SetupError(Exception):
    """A step that only prepares an attack failed: the case cannot run."""


class Answer:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        self.json = as_json(raw)

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    def __repr__(self):
        return f"{self.status} {self.raw[:200]!r}"


class User:
    def __init__(self, username, email, addr):
        self.username, self.email, self.addr = username, email, addr
        self.password = PASSWORD
        self.id = self.token = self.refresh = self.sid = None

    def take(self, answer):
        """Keeps the tokens of a register/login/refresh answer; returns the session."""
        body = answer.json
        self.id = body["user"]["id"]
        self.token, self.refresh = body["accessToken"], body["refreshToken"]
        self.sid = claims(self.token).get("sid")
        return Session(self.token, self.refresh, self.sid)


class Session:
    def __init__(self, token, refresh, sid):
        self.token, self.refresh, self.sid = token, refresh, sid


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(token):
    return json.loads(unb64u(token.split(".")[1]))


def ed25519_from_pem(pem: str) -> Ed25519PrivateKey:
    """The service's Ed25519 key from its PKCS#8 PEM. The 32-byte seed is read out of the DER
    directly: the services write PKCS#8 v2 (with the public key), which not every version of
    `cryptography` parses."""
    body = "".join(line for line in pem.replace("\\n", "\n").splitlines() if line and "-----" not in line)
    der = base64.b64decode(body)
    at = der.find(b"\x04\x22\x04\x20")
    if at < 0:
        raise SetupError("no Ed25519 seed in the signing key")
    return Ed25519PrivateKey.from_private_bytes(der[at + 4:at + 36])


def upgrade_headers(extra=None):
    return {"connection": "Upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
            "sec-websocket-key": base64.b64encode(secrets.token_bytes(16)).decode(), **(extra or {})}


class Target:
    """One running stack as an attacker sees it, plus what the suite knows about it."""

    def __init__(self, name, origin, c: Checks, octet, *, signing_key_pem, pid=None, stack=None,
                 redis=None):
        self.name, self.origin, self.c = name, origin, c
        self.ws = "ws" + origin[len("http"):]
        self.octet, self.n = octet, 0
        self.signing_key_pem = signing_key_pem
        self.pid, self.stack, self.redis = pid, stack, redis
        self.quick = stack is None

    def addr(self) -> str:
        """A fresh client address (127.<octet>.x.y)."""
        self.n += 1
        return f"127.{self.octet}.{self.n // 250}.{self.n % 250 + 2}"

    def check(self, name, ok, detail=""):
        return self.c.check(f"[{self.name}] {name}", ok, detail)

    def expect(self, name, answer, status, code=None):
        """The answer has `status` (one or a tuple) and, when given, the problem `code`."""
        statuses = status if isinstance(status, tuple) else (status,)
        codes = code if isinstance(code, tuple) or code is None else (code,)
        ok = answer.status in statuses and (codes is None or answer.code in codes)
        return self.check(name, ok, answer)

    def call(self, method, path, body=None, token=None, source=None, headers=None, data=None,
             base=None):
        return Answer(*http(method, (base or self.origin) + path, body, token, headers,
                            source or "127.0.0.1", data))

    # --- accounts ----------------------------------------------------------------------------

    def register(self, tag) -> User:
        suffix = secrets.token_hex(4)
        user = User(f"{tag}_{suffix}", f"{tag}-{suffix}@example.com", self.addr())
        answer = self.call("POST", "/auth/register", {"username": user.username, "email": user.email,
                                                      "password": PASSWORD}, source=user.addr)
        if answer.status != 201:
            raise SetupError(f"register {tag}: {answer}")
        user.take(answer)
        return user

    def login(self, user, source=None) -> Session:
        answer = self.call("POST", "/auth/login", {"email": user.email, "password": user.password},
                           source=source or user.addr)
        if answer.status != 200:
            raise SetupError(f"log in {user.username}: {answer}")
        body = answer.json
        return Session(body["accessToken"], body["refreshToken"], claims(body["accessToken"]).get("sid"))

    def as_user(self, user, method, path, body=None, token=None):
        return self.call(method, path, body, token=token or user.token, source=user.addr)

    def room(self, owner, *members) -> int:
        answer = self.as_user(owner, "POST", "/rooms", {"name": f"abuse-{secrets.token_hex(5)}"})
        if answer.status != 201:
            raise SetupError(f"create a room: {answer}")
        room = answer.json["id"]
        for m in members:
            added = self.as_user(owner, "POST", f"/rooms/{room}/members", {"username": m.username})
            if added.status != 201:
                raise SetupError(f"add a member: {added}")
        return room

    def post(self, user, room, content="hello") -> dict:
        answer = self.as_user(user, "POST", f"/rooms/{room}/messages",
                              {"content": content, "clientMsgId": str(uuid.uuid4())})
        if answer.status != 201:
            raise SetupError(f"post a message: {answer}")
        return answer.json

    # --- WebSockets --------------------------------------------------------------------------

    async def connect(self, user, token=None, base=None, **options):
        """A socket opened with a fresh ticket; returns (socket, ready frame)."""
        ticket = self.call("POST", "/ws-tickets", {}, token=token or user.token, source=user.addr)
        if ticket.status != 201:
            raise SetupError(f"get a ticket: {ticket}")
        ws = await websockets.connect(f"{base or self.ws}/ws?ticket={ticket.json['ticket']}",
                                      local_addr=(user.addr, 0), **{**WS_OPTIONS, **options})
        ready = await recv_until(ws, lambda f: f["type"] == "ready")
        return ws, ready

    def upgrade(self, query="", subprotocols=None, source=None, base=None) -> Answer:
        """A WebSocket upgrade request as plain HTTP: refusals come before the upgrade."""
        extra = {"sec-websocket-protocol": ", ".join(subprotocols)} if subprotocols else None
        return self.call("GET", f"/ws{query}", headers=upgrade_headers(extra), source=source, base=base)

    def relay_ws(self, relay):
        """A relay's own address (the PostgreSQL stack), bypassing nginx."""
        return self.stack.urls[relay].replace("http://", "ws://")


# --- WebSocket helpers -------------------------------------------------------------------------

def action(name, **fields):
    return json.dumps({"action": name, **fields})


async def close_code(ws, timeout=5.0):
    """Reads until the server closes the socket; its close code, or None if still open."""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            await asyncio.wait_for(ws.recv(), timeout=max(0.05, deadline - time.time()))
    except websockets.exceptions.ConnectionClosed:
        return ws.close_code
    except asyncio.TimeoutError:
        pass
    return None


async def frames_within(ws, seconds, predicate=lambda f: True):
    """Every frame matching `predicate` received in the next `seconds`."""
    got = []
    deadline = time.time() + seconds
    try:
        while (left := deadline - time.time()) > 0:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
            if predicate(frame):
                got.append(frame)
    except (asyncio.TimeoutError, websockets.exceptions.ConnectionClosed):
        pass
    return got


async def frames_on_all(sockets, seconds, predicate):
    """`frames_within` on several sockets at once."""
    found = await asyncio.gather(*(frames_within(ws, seconds, predicate) for ws in sockets))
    return [f for frames in found for f in frames]


async def answers_ping(ws, timeout=5.0) -> bool:
    ping_id = secrets.token_hex(4)
    try:
        await ws.send(action("ping", id=ping_id))
        await recv_until(ws, lambda f: f["type"] == "pong" and f.get("id") == ping_id, timeout)
        return True
    except (TimeoutError, websockets.exceptions.ConnectionClosed):
        return False


def message_in(room):
    return lambda f: f["type"] == "message" and f["message"]["roomId"] == room


async def close_all(*sockets):
    async def close(ws):
        try:
            await asyncio.wait_for(ws.close(), 3)
        except Exception:  # noqa: BLE001 - the socket may already be gone
            pass

    await asyncio.gather(*(close(ws) for ws in sockets))


# --- the cases ---------------------------------------------------------------------------------

async def case_forged_tokens(t: Target):
    victim, other = t.register("forge"), t.register("forgeb")
    h, p, sig = victim.token.split(".")
    header, payload = json.loads(unb64u(h)), json.loads(unb64u(p))
    jwk = t.call("GET", "/.well-known/jwks.json").json["keys"][0]
    real = ed25519_from_pem(t.signing_key_pem)
    stranger = Ed25519PrivateKey.generate()
    now = int(time.time())

    def fresh(**changes):
        return {**payload, "jti": str(uuid.uuid4()), "iat": now, "exp": now + 600, **changes}

    def jwt(head, body, sign):
        signing_input = f"{b64u(json.dumps(head).encode())}.{b64u(json.dumps(body).encode())}"
        return f"{signing_input}.{b64u(sign(signing_input.encode()))}"

    def ed(key):
        return key.sign

    def hs(secret):
        return lambda m: hmac.new(secret, m, hashlib.sha256).digest()

    no_kid = {k: v for k, v in header.items() if k != "kid"}
    control = jwt(header, fresh(), ed(real))
    t.expect("a token the suite signs with the service's own key is accepted (the forgeries below "
             "each differ from it in one thing)", t.call("GET", "/users/me", token=control), 200)
    forgeries = {
        "alg none": jwt({**header, "alg": "none"}, fresh(), lambda m: b""),
        "HS256 keyed with the public JWK": jwt({**header, "alg": "HS256"}, fresh(),
                                               hs(json.dumps(jwk).encode())),
        "HS256 keyed with the public key's bytes": jwt({**header, "alg": "HS256"}, fresh(), hs(unb64u(jwk["x"]))),
        "another key under the real kid": jwt(header, fresh(), ed(stranger)),
        "another key under its own kid": jwt({**header, "kid": "attacker-key"}, fresh(), ed(stranger)),
        "the real key under an unknown kid": jwt({**header, "kid": "no-such-kid"}, fresh(), ed(real)),
        "no kid": jwt(no_kid, fresh(), ed(real)),
        "expired an hour ago": jwt(header, fresh(iat=now - 4200, exp=now - 3600), ed(real)),
        "wrong audience": jwt(header, fresh(aud="someone-else"), ed(real)),
        "wrong issuer": jwt(header, fresh(iss="evil-issuer"), ed(real)),
        "tampered payload (another user's id)": f"{h}.{b64u(json.dumps({**payload, 'sub': other.id}).encode())}.{sig}",
    }
    src = t.addr()
    for name, token in forgeries.items():
        got = {
            "/users/me": t.call("GET", "/users/me", token=token, source=src).status,
            "/rooms": t.call("GET", "/rooms", token=token, source=src).status,
            "/ws-tickets": t.call("POST", "/ws-tickets", {}, token=token, source=src).status,
            "/ws": t.upgrade(subprotocols=["cloudchat.v1", f"bearer.{token}"], source=src).status,
        }
        t.check(f"forged token, {name}: 401 on REST and at /ws", all(s == 401 for s in got.values()), got)


async def case_idor(t: Target):
    alice, bob = t.register("owner"), t.register("prober")
    room = t.room(alice)
    message = t.post(alice, room, "private words")
    probes = [
        ("GET", f"/rooms/{room}", None),
        ("GET", f"/rooms/{room}/messages?afterSeq=0", None),
        ("GET", f"/rooms/{room}/members", None),
        ("POST", f"/rooms/{room}/messages", {"content": "intrusion", "clientMsgId": str(uuid.uuid4())}),
        ("POST", f"/rooms/{room}/read", {"seq": 1}),
        ("POST", f"/rooms/{room}/members", {"username": bob.username}),
        ("DELETE", f"/rooms/{room}/members/{alice.id}", None),
        ("DELETE", f"/rooms/{room}", None),
        ("PATCH", f"/messages/{message['id']}", {"content": "edited by a stranger"}),
        ("DELETE", f"/messages/{message['id']}", None),
        ("DELETE", f"/auth/sessions/{alice.sid}", None),
    ]
    for method, path, body in probes:
        answer = t.as_user(bob, method, path, body)
        t.check(f"IDOR: {method} {path.split('?')[0]} of another user's private room → 404 (not 403)",
                answer.status == 404 and answer.code is not None, answer)
    # A direct room of two others is as closed as a private room.
    carol = t.register("peer")
    opened = t.as_user(alice, "POST", "/dms", {"userId": carol.id})
    t.expect("a direct room with another user opens → 201", opened, 201)
    dm = opened.json["id"]
    for method, path, body in [
        ("GET", f"/rooms/{dm}/messages?afterSeq=0", None),
        ("POST", f"/rooms/{dm}/messages", {"content": "intrusion", "clientMsgId": str(uuid.uuid4())}),
        ("GET", f"/rooms/{dm}/read-markers", None),
        ("POST", f"/rooms/{dm}/hide", {}),
    ]:
        answer = t.as_user(bob, method, path, body)
        t.check(f"IDOR: {method} {path.split('?')[0]} of a direct room of two others → 404",
                answer.status == 404 and answer.code is not None, answer)
    ws, _ = await t.connect(bob)
    try:
        await ws.send(action("sync", id="s", roomId=room, afterSeq=0))
        reply = await recv_until(ws, lambda f: f.get("id") == "s")
        t.check("IDOR: sync of another user's private room over the socket → error room_not_found",
                reply["type"] == "error" and reply.get("code") == "room_not_found", reply)
        await ws.send(action("sendMessage", id="m", roomId=room, content="x", clientMsgId=str(uuid.uuid4())))
        reply = await recv_until(ws, lambda f: f.get("id") == "m")
        t.check("IDOR: sendMessage into another user's private room → error room_not_found",
                reply["type"] == "error" and reply.get("code") == "room_not_found", reply)
    finally:
        await close_all(ws)
    history = t.as_user(alice, "GET", f"/rooms/{room}/messages?afterSeq=0")
    t.check("IDOR: the owner's message is untouched", history.status == 200 and [
        (m["content"], m.get("deletedAt")) for m in history.json["messages"]] == [("private words", None)], history)


async def case_files(t: Target):
    alice, bob = t.register("filea"), t.register("fileb")
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    up = t.call("POST", "/uploads?filename=..%2F..%2Fetc%2Fcat.png", data=html, token=alice.token,
                source=alice.addr, headers={"content-type": "image/png"})
    t.check("an HTML file named .png → 201 as text/plain, the path stripped from its name",
            up.status == 201 and up.json.get("contentType") == "text/plain" and up.json.get("name") == "cat.png", up)
    if up.status != 201:
        return
    path = f"/files/{up.json['id']}"
    t.expect("another user's upload that no message carries → 404 file_not_found",
             t.as_user(bob, "GET", path), 404, "file_not_found")
    mine = t.as_user(alice, "GET", path)
    csp = mine.headers.get("content-security-policy", "") if mine.headers else ""
    t.check("it is served as an attachment, text/plain, nosniff, in a sandbox",
            mine.status == 200 and mine.headers.get("content-type", "").startswith("text/plain")
            and mine.headers.get("content-disposition", "").startswith("attachment")
            and mine.headers.get("x-content-type-options") == "nosniff" and "sandbox" in csp, mine)
    room = t.room(alice)
    sent = t.as_user(alice, "POST", f"/rooms/{room}/messages", {"content": "", "attachmentIds": [up.json["id"]]})
    t.expect("attached to a message of a private room → 201", sent, 201)
    t.expect("IDOR: a non-member fetching it → 404 file_not_found",
             t.as_user(bob, "GET", path), 404, "file_not_found")
    t.expect("IDOR: a non-member attaching someone else's upload → 404 attachment_not_found",
             t.as_user(bob, "POST", "/rooms/1/messages", {"content": "", "attachmentIds": [up.json["id"]]}),
             404, "attachment_not_found")
    cookie = t.call("GET", path, headers={"cookie": "cc_files=not-a-token"}, source=bob.addr)
    t.expect("a forged cc_files cookie → 401", cookie, 401)
    huge = t.call("POST", "/uploads?filename=big.bin", data=b"z" * (30 * MIB), token=alice.token,
                  source=alice.addr, headers={"content-type": "application/octet-stream"})
    t.check("a 30 MiB upload (over UPLOAD_MAX_BYTES) → 413", huge.status == 413, huge)


async def case_bodies(t: Target):
    user = t.register("bodies")
    login_pad = json.dumps({"email": "a" * (100 * 1024) + "@example.com", "password": "x"}).encode()
    t.expect("an e-mail of 100 KB in the login body → 413 body_too_large",
             t.call("POST", "/auth/login", data=login_pad, source=t.addr()), 413, "body_too_large")
    ten_kb = t.call("POST", "/auth/login", {"email": "b" * 10240 + "@example.com", "password": "x"}, source=t.addr())
    t.check("an e-mail of 10 KB (under the body limit) in the login body → a clean 4xx with a code",
            400 <= ten_kb.status < 500 and ten_kb.code is not None, ten_kb)
    room_pad = json.dumps({"name": "x" * (200 * 1024)}).encode()
    t.expect("a 200 KB body to POST /rooms → 413 body_too_large",
             t.call("POST", "/rooms", data=room_pad, token=user.token, source=user.addr), 413, "body_too_large")
    huge = t.call("POST", "/rooms", data=b'{"name":"' + b"y" * (2 * MIB) + b'"}', token=user.token, source=user.addr)
    t.check("a 2 MiB body to POST /rooms → 413", huge.status == 413, huge)
    for depth, path, token in ((5000, "/auth/login", None), (30000, "/rooms", user.token)):
        nested = b"[" * depth + b"]" * depth
        t.expect(f"{depth:,} nested arrays to {path} → 400", t.call("POST", path, data=nested, token=token,
                                                                    source=user.addr), 400)
    deep = t.call("POST", "/rooms", data=b"[" * 100_000 + b"]" * 100_000, token=user.token, source=user.addr)
    t.check("100,000 nested arrays to /rooms → 400 or 413, never 5xx", deep.status in (400, 413), deep)
    t.expect("auth-service still answers after the bodies", t.as_user(user, "GET", "/users/me"), 200)
    t.expect("chat-service still answers after the bodies", t.as_user(user, "GET", "/rooms"), 200)

    for name, frame, text, code in (
        ("a 65 KiB text frame", "x" * (65 * 1024), None, 1009),
        ("a text frame that is not UTF-8", b"\xff\xfe\xfd", True, 1007),
        ("a binary frame", b"\x00\x01", None, 1003),
    ):
        ws, _ = await t.connect(user)
        try:
            await ws.send(frame, text=text)
            got = await close_code(ws)
        except websockets.exceptions.ConnectionClosed:
            got = ws.close_code
        finally:
            await close_all(ws)
        t.check(f"{name} → close {code}", got == code, got)


async def case_front_door(t: Target):
    """Paths that must never reach an internal route, and the headers of the web app."""
    sneaky = ["/rooms/../internal/ws/connect", "/rooms/%2e%2e/internal/ws/connect",
              "/rooms/..%2finternal/ws/connect", "/rooms/%2E%2E/%2E%2E/internal/publish"]
    for path in sneaky:
        answer = t.call("POST", path, {})
        t.check(f"front door: POST {path} → 400 bad_path or 404, never an internal route",
                (answer.status == 400 and answer.code == "bad_path") or answer.status == 404, answer)
    for method, path in (("POST", "/internal/publish"), ("POST", "/internal/ws/connect"),
                         ("GET", "/internal/users/by-username/x"), ("GET", "/metrics"), ("GET", "/readyz")):
        answer = t.call(method, path, {} if method == "POST" else None)
        t.check(f"front door: {method} {path} on the public port → 404", answer.status == 404, answer)
    page = t.call("GET", "/", headers={"accept": "text/html"})
    h = page.headers
    csp = h.get("content-security-policy") or ""
    t.check("front door: GET / carries a CSP, nosniff, a Referrer-Policy and frame protection",
            page.status == 200 and "default-src" in csp and (h.get("x-content-type-options") or "").lower() == "nosniff"
            and bool(h.get("referrer-policy")) and ("frame-ancestors" in csp or bool(h.get("x-frame-options"))),
            {k: h.get(k) for k in ("content-security-policy", "x-content-type-options", "referrer-policy",
                                   "x-frame-options")} | {"status": page.status})


async def case_internal_keys(t: Target):
    """The PostgreSQL stack's services, called directly on their loopback ports."""
    s = t.stack
    wrong = {INTERNAL_KEY_HEADER: secrets.token_hex(32)}
    connect = {"connectionId": str(uuid.uuid4()), "ticket": "x" * 43, "relayId": "intruder"}
    # A well-formed frame: the relay reads the body before it looks at what the caller may do.
    publish = {"deliveries": [{"target": {"user": str(uuid.uuid4())}, "payload": {"type": "roomDeleted", "roomId": 1}}]}
    for service, path, body in (("chat", "/internal/ws/connect", connect), ("relay1", "/internal/publish", publish),
                                ("auth", f"/internal/users/{uuid.uuid4()}", None)):
        method = "POST" if body is not None else "GET"
        for label, headers in (("no key", None), ("a wrong key", wrong)):
            t.expect(f"internal: {service} {path.split('/internal')[1][:20]} with {label} → 401 invalid_internal_key",
                     t.call(method, path, body, headers=headers, base=s.urls[service]), 401, "invalid_internal_key")
    with_key = lambda var: {INTERNAL_KEY_HEADER: s.keys[var]}  # noqa: E731
    t.expect("internal: auth-service's key cannot publish deliveries to a relay → 403 forbidden_internal_caller",
             t.call("POST", "/internal/publish", publish, headers=with_key("AUTH_INTERNAL_KEY"), base=s.urls["relay1"]),
             403, "forbidden_internal_caller")
    disconnect = {"control": [{"disconnectUser": str(uuid.uuid4())}]}
    answer = t.call("POST", "/internal/publish", disconnect, headers=with_key("AUTH_INTERNAL_KEY"), base=s.urls["relay1"])
    t.check("internal: auth-service's key may still ask a relay to disconnect a user (2xx)",
            200 <= answer.status < 300, answer)
    for var, service, path, body in (("AUTH_INTERNAL_KEY", "chat", "/internal/ws/connect", connect),
                                     ("RELAY_INTERNAL_KEY", "relay1", "/internal/publish", publish)):
        answer = t.call("POST", path, body, headers=with_key(var), base=s.urls[service])
        t.check(f"internal: {var} cannot call {service} {path} (401 or 403)", answer.status in (401, 403)
                and answer.code in ("invalid_internal_key", "forbidden_internal_caller"), answer)


async def case_sessions(t: Target):
    user = t.register("sessions")
    s1, s2, s3, s4 = (t.login(user) for _ in range(4))
    ws1, _ = await t.connect(user, s1.token)
    ws2, _ = await t.connect(user, s2.token)
    sockets = [ws1, ws2]
    try:
        t.expect("logout of session 1 → 204", t.call("POST", "/auth/logout", {"refreshToken": s1.refresh},
                                                      source=user.addr), 204)
        t.check("logout closes session 1's socket with 4003", await close_code(ws1) == 4003, ws1.close_code)
        t.check("session 2's socket stays open after session 1's logout", await answers_ping(ws2))
        reply = None
        await ws2.send(action("refreshToken", id="r", token=s1.token))
        try:
            reply = await recv_until(ws2, lambda f: f.get("id") == "r")
        except (TimeoutError, websockets.exceptions.ConnectionClosed) as e:
            reply = {"type": repr(e)}
        t.check("refreshToken with the logged-out session's access token is refused (error)",
                reply.get("type") == "error" and reply.get("code") in ("invalid_token", "session_revoked"), reply)
        revoked = None
        deadline = time.time() + 10
        while time.time() < deadline:
            revoked = t.as_user(user, "GET", "/users/me", token=s1.token)
            if revoked.status == 401:
                break
            time.sleep(0.25)
        t.expect("the logged-out session's access token → 401 session_revoked at auth-service within 10 s",
                 revoked, 401, "session_revoked")
        t.expect("... and at chat-service", t.as_user(user, "GET", "/rooms", token=s1.token), 401, "session_revoked")
        t.expect("... and it buys no WebSocket ticket", t.as_user(user, "POST", "/ws-tickets", {}, token=s1.token), 401)
        t.expect("... and opens no socket", t.upgrade(subprotocols=["cloudchat.v1", f"bearer.{s1.token}"],
                                                      source=user.addr), 401)
        t.expect("... and session 2's token still works", t.as_user(user, "GET", "/users/me", token=s2.token), 200)

        ws3, _ = await t.connect(user, s3.token)
        sockets.append(ws3)
        t.expect("DELETE /auth/sessions/{session 2} → 204",
                 t.as_user(user, "DELETE", f"/auth/sessions/{s2.sid}", token=s3.token), 204)
        t.check("revoking session 2 closes its socket with 4003", await close_code(ws2) == 4003, ws2.close_code)
        t.check("session 3's socket stays open after session 2's revocation", await answers_ping(ws3))

        ws4, _ = await t.connect(user, s4.token)
        sockets.append(ws4)
        rotated = t.call("POST", "/auth/refresh", {"refreshToken": s4.refresh}, source=user.addr)
        t.expect("session 4 refreshes once (200)", rotated, 200)
        reused = t.call("POST", "/auth/refresh", {"refreshToken": s4.refresh}, source=user.addr)
        t.expect("a spent refresh token presented again → 401", reused, 401)
        t.check("refresh-token reuse closes session 4's socket with 4003", await close_code(ws4) == 4003,
                ws4.close_code)
        t.check("session 3's socket stays open after session 4's reuse", await answers_ping(ws3))
    finally:
        await close_all(*sockets)


async def case_membership(t: Target):
    """A removed member stops receiving the room. On the PostgreSQL stack the member sits on the
    other relay and Redis is down while the member is removed (the unsubscribe is lost)."""
    owner, member, bystander = t.register("mowner"), t.register("member"), t.register("bystand")
    room = t.room(owner, member, bystander)
    base = None if t.quick else t.relay_ws("relay2")
    wm, ready_m = await t.connect(member, base=base)
    wb, ready_b = await t.connect(bystander, base=base)
    try:
        t.check("membership: member and bystander receive the room at connect",
                room in ready_m["rooms"] and room in ready_b["rooms"], (ready_m["rooms"], ready_b["rooms"]))
        first = t.post(owner, room, "before the removal")
        got = [await recv_until(ws, message_in(room)) for ws in (wm, wb)]
        t.check("membership: member and bystander receive the room's messages",
                all(f["message"]["id"] == first["id"] for f in got), got)
        removed_at = time.time()
        if not t.quick:
            t.redis.kill()
            time.sleep(0.3)
        t.expect("membership: the owner removes the member (204)",
                 t.as_user(owner, "DELETE", f"/rooms/{room}/members/{member.id}"), 204)
        if not t.quick:
            time.sleep(0.5)
            t.redis.start()
            wait_until(lambda: all(t.stack.ready(n) for n in ("auth", "relay1", "relay2")), "services back on Redis", 20)
            # The same session's next access token (another log-in would be another session).
            refreshed = t.call("POST", "/auth/refresh", {"refreshToken": member.refresh}, source=member.addr)
            await wm.send(action("refreshToken", id="r", token=(refreshed.json or {}).get("accessToken")))
            reply = await recv_until(wm, lambda f: f.get("id") == "r")
            t.check("membership: the removed member's refreshToken is answered", reply["type"] == "tokenRefreshed", reply)
            # RELAY_ROOMS_RECHECK_SECS=2: past it, the relay has re-read the member's rooms anyway.
            await asyncio.sleep(max(0.5, 3 - (time.time() - removed_at)))
        second = t.post(owner, room, "after the removal")
        got = await recv_until(wb, message_in(room))
        t.check("membership: the bystander still receives the room", got["message"]["id"] == second["id"], got)
        leaked = await frames_within(wm, 1.5, message_in(room))
        where = "" if t.quick else " (other relay, unsubscribe lost while Redis was down)"
        t.check(f"membership: the removed member no longer receives the room{where}", leaked == [],
                [f["message"]["content"] for f in leaked])
    finally:
        await close_all(wm, wb)


async def case_lockout(t: Target):
    victim = t.register("victim")
    attacker = t.addr()
    statuses = [t.call("POST", "/auth/login", {"email": victim.email, "password": f"guess-{i}-wrong"},
                       source=attacker).status for i in range(11)]
    t.check("lockout: eleven wrong passwords from one address → 401 or 429, never 200", set(statuses) <= {401, 429},
            statuses)
    t.expect("lockout: the owner's correct password from another address → 200",
             t.call("POST", "/auth/login", {"email": victim.email, "password": PASSWORD}, source=t.addr()), 200)


async def case_email_change(t: Target):
    user, other = t.register("mail"), t.register("mailb")
    second = t.login(user)
    target = f"new-{secrets.token_hex(4)}@example.com"
    missing = t.as_user(user, "PATCH", "/users/me", {"email": target})
    named = isinstance(missing.json, dict) and any(e.get("field") == "currentPassword"
                                                  for e in missing.json.get("errors") or [])
    t.check("e-mail change without currentPassword → 400 validation_failed naming currentPassword",
            missing.status == 400 and missing.code == "validation_failed" and named, missing)
    t.expect("e-mail change with a wrong currentPassword → 403 wrong_current_password",
             t.as_user(user, "PATCH", "/users/me", {"email": target, "currentPassword": "not the password"}),
             403, "wrong_current_password")
    t.expect("e-mail change to a taken address with a wrong password → 403 (no email_taken oracle)",
             t.as_user(user, "PATCH", "/users/me", {"email": other.email, "currentPassword": "not the password"}),
             403, "wrong_current_password")
    t.expect("e-mail change to a taken address with the right password → 409 email_taken",
             t.as_user(user, "PATCH", "/users/me", {"email": other.email, "currentPassword": PASSWORD}),
             409, "email_taken")
    changed = t.as_user(user, "PATCH", "/users/me", {"email": target, "currentPassword": PASSWORD})
    t.check("e-mail change with the right password → 200 and the new address",
            changed.status == 200 and changed.json.get("email") == target, changed)
    t.expect("e-mail change revokes the other sessions (their refresh token → 401)",
             t.call("POST", "/auth/refresh", {"refreshToken": second.refresh}, source=user.addr), 401)
    t.expect("... and keeps the session that made the change", t.as_user(user, "GET", "/users/me"), 200)


async def case_forgot_password(t: Target):
    source = t.addr()
    statuses = []
    last = None
    for i in range(6):
        last = t.call("POST", "/auth/forgot-password", {"email": f"nobody{i}-{secrets.token_hex(3)}@example.com"},
                      source=source)
        statuses.append(last.status)
    t.check("forgot-password: five per address are accepted (202)", statuses[:5] == [202] * 5, statuses)
    t.check("forgot-password: the sixth from the same address within the hour → 429 rate_limited with Retry-After",
            last.status == 429 and last.code == "rate_limited" and bool(last.headers.get("retry-after")), last)


async def case_typing(t: Target):
    typist, reader = t.register("typist"), t.register("reader")
    room = t.room(typist, reader)
    wt, _ = await t.connect(typist)
    wr, _ = await t.connect(reader)
    try:
        for i in range(30):
            await wt.send(action("typing", roomId=room))
        got = await frames_within(wr, 3, lambda f: f["type"] == "typing" and f.get("roomId") == room)
        t.check("typing: 30 typing frames in a burst reach another member once or twice", 1 <= len(got) <= 2,
                f"{len(got)} typing frames")
    finally:
        await close_all(wt, wr)


async def case_caps(t: Target):
    owner, a, b = t.register("caps"), t.register("capa"), t.register("capb")
    answers = [t.as_user(owner, "POST", "/rooms", {"name": f"cap-{secrets.token_hex(5)}"}) for _ in range(6)]
    t.check("caps: five rooms created in a row (CHAT_ROOM_CREATES_PER_HOUR=5)",
            [x.status for x in answers[:5]] == [201] * 5, [x.status for x in answers])
    t.check("caps: the sixth room within the hour → 429 rate_limited with Retry-After",
            answers[5].status == 429 and answers[5].code == "rate_limited"
            and bool(answers[5].headers.get("retry-after")), answers[5])
    room = answers[0].json["id"]
    for m in (a, b):
        t.as_user(owner, "POST", f"/rooms/{room}/members", {"username": m.username})
    page = t.as_user(owner, "GET", f"/rooms/{room}/members?limit=2")
    body = page.json if isinstance(page.json, dict) else {}
    items = next((v for v in body.values() if isinstance(v, list)), None)
    t.check("caps: GET /rooms/{id}/members?limit=2 of three members → a page of 2 with hasMore and nextCursor",
            page.status == 200 and body.get("hasMore") is True and body.get("nextCursor") not in (None, "")
            and items is not None and len(items) == 2, page)


async def case_tickets(t: Target):
    for label, query in (("garbage", "?ticket=garbage"), ("well-formed but unknown", f"?ticket={secrets.token_urlsafe(32)}"),
                         ("a 2 KB ticket", "?ticket=" + "A" * 2048), ("no ticket", "")):
        answer = t.upgrade(query, source=t.addr())
        t.check(f"tickets: GET /ws with {label} → 401 before the upgrade", answer.status == 401
                and answer.code in ("invalid_ticket", "credentials_required"), answer)
    bases = [("", None)] if t.quick else [(" through nginx", None), (" at a relay directly", t.stack.urls["relay1"])]
    for where, base in bases:
        flooder = t.addr()
        answers = [t.upgrade(f"?ticket={secrets.token_urlsafe(32)}", source=flooder, base=base) for _ in range(60)]
        limited = [x for x in answers if x.status == 429]
        t.check(f"tickets: a connect flood from one address{where} → 429 with Retry-After at some point",
                bool(limited) and bool(limited[0].headers.get("retry-after"))
                and {x.status for x in answers} <= {401, 429}, [x.status for x in answers])
    other = t.register("calm")
    ws, ready = await t.connect(other)
    t.check("tickets: another address still connects during the flood", ready["type"] == "ready")
    await close_all(ws)


async def case_redis_injection(t: Target):
    """Anyone who can write to Redis publishes envelopes on the relays' channel; unsigned ones
    must be dropped."""
    owner, outsider = t.register("rowner"), t.register("outsider")
    room = t.room(owner)
    sockets = []
    try:
        for relay in ("relay1", "relay2"):
            sockets.append((await t.connect(outsider, base=t.relay_ws(relay)))[0])
        channel = f"{t.stack.redis_prefix}:fanout"
        envelope = {"origin": str(uuid.uuid4()), "deliveries": [],
                    "control": [{"subscribe": {"userId": outsider.id, "roomId": room}}]}
        t.redis.command("PUBLISH", channel, json.dumps(envelope))
        await asyncio.sleep(0.5)
        t.post(owner, room, "for members only")
        leaked = await frames_on_all(sockets, 1.0, message_in(room))
        t.check("redis: an unsigned subscribe envelope does not let an outsider read a private room", leaked == [],
                [f["message"]["content"] for f in leaked])
        fake = {"type": "message", "message": {"id": 1, "roomId": room, "seq": 1, "content": "forged",
                                               "userId": owner.id, "username": owner.username}}
        envelope = {"origin": str(uuid.uuid4()), "control": [],
                    "deliveries": [{"target": {"user": outsider.id}, "frame": json.dumps(fake)}]}
        t.redis.command("PUBLISH", channel, json.dumps(envelope))
        forged = await frames_on_all(sockets, 1.0, lambda f: f.get("type") == "message")
        t.check("redis: an unsigned delivery envelope is not delivered", forged == [], forged)
    finally:
        await close_all(*sockets)


def rss_bytes(pid) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def case_memory(t: Target):
    """The issue's attack: six sockets that never read, each asking ten times a second for a
    sync of 200 messages of 4,000 control characters (6 bytes each once escaped)."""
    attacker, bystander = t.register("hog"), t.register("legit")
    room = t.room(attacker, bystander)
    content = "\u0001" * 4000
    with ThreadPoolExecutor(4) as pool:
        posted = list(pool.map(lambda _: t.as_user(attacker, "POST", f"/rooms/{room}/messages",
                                                   {"content": content, "clientMsgId": str(uuid.uuid4())}).status,
                               range(200)))
    if posted.count(201) != 200:
        raise SetupError(f"writing the room: {sorted(set(posted))}")
    # max_queue=1: the client library stops reading the TCP socket once one frame waits unread.
    slow = [(await t.connect(attacker, max_size=None, max_queue=1))[0] for _ in range(6)]
    legit, _ = await t.connect(bystander, max_size=None)
    baseline = rss_bytes(t.pid)
    state = {"peak": baseline, "running": True, "attacking": True, "pings": 0, "pongs": 0}

    async def sample():
        while state["running"]:
            state["peak"] = max(state["peak"], rss_bytes(t.pid))
            if state["peak"] - baseline > 1536 * MIB:
                state["attacking"] = False  # enough to fail; spare the machine
            await asyncio.sleep(0.1)

    async def attack():
        # 20 s: on a loaded two-core machine the server answers syncs slowly, and 10 s once left
        # four of the six sockets short of their outbound budget (closed with None, not 1013).
        stop_at = time.time() + 20
        while time.time() < stop_at and state["attacking"]:
            for ws in slow:
                try:
                    await ws.send(action("sync", roomId=room, afterSeq=0, limit=200))
                except websockets.exceptions.ConnectionClosed:
                    pass
            await asyncio.sleep(0.1)

    async def ping():
        while state["attacking"] and state["running"]:
            state["pings"] += 1
            state["pongs"] += await answers_ping(legit, 3)
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample())
    pinger = asyncio.create_task(ping())
    try:
        await attack()
        state["attacking"] = False
        await pinger
        codes = await asyncio.gather(*(close_code(ws, 15) for ws in slow))
    finally:
        state["running"] = False
        await sampler
        await close_all(*slow)
    peak, pings, pings_ok = state["peak"], state["pings"], state["pongs"]
    growth = (peak - baseline) / MIB
    print(f"     [{t.name}] memory attack: RSS {baseline / MIB:.0f} MiB → peak {peak / MIB:.0f} MiB "
          f"(growth {growth:.0f} MiB), slow sockets closed with {codes}", flush=True)
    t.check("memory: the attack grows the process's RSS by less than 100 MiB", growth < 100, f"{growth:.0f} MiB")
    t.check("memory: the six slow sockets are closed with 1013", codes == [1013] * 6, codes)
    t.check("memory: a legitimate client's pings are answered during the attack", pings > 0 and pings_ok == pings,
            f"{pings_ok}/{pings}")
    seqs, after = [], 0
    try:
        for _ in range(100):
            await legit.send(action("sync", id="s", roomId=room, afterSeq=after, limit=200))
            page = await recv_until(legit, lambda f: f.get("id") == "s", 15)
            if page["type"] != "messages":
                break
            seqs += [m["seq"] for m in page["messages"]]
            if not page["hasMore"] or not page["messages"]:
                break
            after = page["messages"][-1]["seq"]
        t.check("memory: afterwards the legitimate client syncs all 200 messages", seqs == list(range(1, 201)),
                f"{len(seqs)} messages")
    finally:
        await close_all(legit)
    again, ready = await t.connect(attacker)
    t.check("memory: a client closed for being slow reconnects", ready["type"] == "ready")
    await close_all(again)


# name → (function, stacks it runs on)
CASES = {
    "tokens": (case_forged_tokens, {"quick", "postgres"}),
    "idor": (case_idor, {"quick", "postgres"}),
    "bodies": (case_bodies, {"quick", "postgres"}),
    "files": (case_files, {"quick", "postgres"}),
    "front-door": (case_front_door, {"quick", "postgres"}),
    "internal-keys": (case_internal_keys, {"postgres"}),
    "sessions": (case_sessions, {"quick", "postgres"}),
    "membership": (case_membership, {"quick", "postgres"}),
    "lockout": (case_lockout, {"quick", "postgres"}),
    "email-change": (case_email_change, {"quick", "postgres"}),
    "forgot-password": (case_forgot_password, {"quick", "postgres"}),
    "typing": (case_typing, {"quick", "postgres"}),
    "caps": (case_caps, {"quick", "postgres"}),
    "tickets": (case_tickets, {"quick", "postgres"}),
    "redis": (case_redis_injection, {"postgres"}),
    "memory": (case_memory, {"quick"}),
}


async def run_cases(t: Target, kind, names):
    for name in names:
        fn, stacks = CASES[name]
        if kind not in stacks:
            continue
        started = time.time()
        try:
            await fn(t)
        except Exception as e:  # noqa: BLE001 - a broken case is one failed check, the rest still run
            t.check(f"{name}: the case runs", False, repr(e))
        print(f"     [{t.name}] {name}: {time.time() - started:.1f} s", flush=True)


def run_quick(args, work: Path, c: Checks, names):
    qs = QuickStart(work, args.bin_dir, SUITE_ENV, tiny_web_app(work))
    try:
        qs.start()
        key = (qs.data_dir / "jwt-signing-key.pem").read_text()
        t = Target("quick start", qs.origin, c, 1, signing_key_pem=key, pid=qs.pid)
        asyncio.run(run_cases(t, "quick", names))
    finally:
        qs.stop()


def run_postgres(args, work: Path, c: Checks, names):
    redis = RedisServer(work)
    redis.start()
    stack = Stack(work, args.bin_dir, args.pg_host, redis.url, SUITE_ENV)
    nginx = None
    try:
        stack.create_databases()
        stack.start_all()
        nginx = start_nginx(stack, work, tiny_web_app(work))
        t = Target("postgres+nginx", stack.origin, c, 2, signing_key_pem=stack.private_key, stack=stack, redis=redis)
        asyncio.run(run_cases(t, "postgres", names))
    finally:
        stop_process(nginx, 10)
        stack.stop_all()
        redis.kill()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=str(REPO / "target" / "debug"))
    ap.add_argument("--pg-host", default="127.0.0.1:5432")
    ap.add_argument("--only", choices=["quick", "postgres"])
    ap.add_argument("--cases", help="comma-separated: " + ",".join(CASES))
    ap.add_argument("--keep-logs", action="store_true", help="keep the work directory with the services' logs")
    args = ap.parse_args()
    names = args.cases.split(",") if args.cases else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown cases: {unknown}")

    work = Path(tempfile.mkdtemp(prefix="cloudchat-abuse-"))
    work.chmod(0o755)  # nginx workers read html/ from here
    c = Checks()
    started = time.time()
    for kind, run in (("quick", run_quick), ("postgres", run_postgres)):
        if args.only and args.only != kind:
            continue
        try:
            run(args, work, c, names)
        except Exception as e:  # noqa: BLE001 - report a stack that does not start as a failed check
            c.check(f"the {kind} stack runs", False, repr(e))
    if c.failed:
        for log in sorted(work.glob("*.log")):
            print(f"--- {log.name} (last lines)")
            print("\n".join(log.read_text(errors="replace").splitlines()[-10:]))
    if args.keep_logs:
        print(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"abuse suite: {time.time() - started:.0f} s")
    print(c.summary())
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
