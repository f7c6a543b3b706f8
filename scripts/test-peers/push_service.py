"""A push service stand-in for chat-service's Web Push tests (RFC 8030, 8291, 8292).

Listens on 127.0.0.1 on a free port and prints the port on its first line. Checked with
implementations independent of the server's: `cryptography` verifies the VAPID token and
`http_ece` decrypts the aes128gcm body.

  POST /new-subscription  {"vapidKey": "<the server's key>"}
      -> {"id", "endpoint", "p256dh", "auth"}: a fresh key pair and auth secret
  POST /script/<id>       {"statuses": [500, 200]}: answer these first, in order
  POST /push/<id>         a push: VAPID checked, body decrypted and kept (201)
  GET  /received/<id>     -> {"messages": [{"payload", "headers"}], "attempts", "errors"}
"""

import base64
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


LOCK = threading.Lock()
SUBSCRIPTIONS = {}  # id -> {"key", "auth", "vapid", "script", "messages", "attempts", "errors"}


def check_vapid(header: str, origin: str, expected_key: str) -> str | None:
    """None when the Authorization header is a valid VAPID one for `origin`, else why not."""
    if not header.startswith("vapid "):
        return f"not a vapid authorization: {header!r}"
    params = {}
    for part in header[len("vapid "):].split(","):
        name, _, value = part.strip().partition("=")
        params[name] = value
    token, key = params.get("t", ""), params.get("k", "")
    if expected_key and key != expected_key:
        return "k is not the server's VAPID public key"
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        head, claims, signature = token.split(".")
        raw = unb64url(signature)
        if len(raw) != 64:
            return "the signature is not 64 bytes (r || s)"
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature) as e:
        return f"bad token or key: {e!r}"
    header_json = json.loads(unb64url(head))
    if header_json.get("alg") != "ES256":
        return f"alg is {header_json.get('alg')!r}"
    claims_json = json.loads(unb64url(claims))
    if claims_json.get("aud") != origin:
        return f"aud is {claims_json.get('aud')!r}, not {origin!r}"
    now = time.time()
    exp = claims_json.get("exp", 0)
    if not (now < exp <= now + 24 * 3600):
        return f"exp {exp} is not within the next 24 hours"
    sub = claims_json.get("sub", "")
    if not (sub.startswith("mailto:") or sub.startswith("https:")):
        return f"sub {sub!r} is not a mailto: or https: URI"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status: int, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def do_GET(self):
        if self.path.startswith("/received/"):
            sid = self.path[len("/received/"):]
            with LOCK:
                sub = SUBSCRIPTIONS.get(sid)
                if sub is None:
                    return self.answer(404, {"error": "no such subscription"})
                return self.answer(200, {
                    "messages": sub["messages"],
                    "attempts": sub["attempts"],
                    "errors": sub["errors"],
                })
        self.answer(404)

    def do_POST(self):
        raw = self.body()
        if self.path == "/new-subscription":
            params = json.loads(raw or b"{}")
            key = ec.generate_private_key(ec.SECP256R1())
            auth = secrets.token_bytes(16)
            sid = secrets.token_hex(8)
            with LOCK:
                SUBSCRIPTIONS[sid] = {
                    "key": key, "auth": auth, "vapid": params.get("vapidKey", ""),
                    "script": [], "messages": [], "attempts": 0, "errors": [],
                }
            public = key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            return self.answer(200, {
                "id": sid,
                "endpoint": f"{self.origin()}/push/{sid}",
                "p256dh": b64url(public),
                "auth": b64url(auth),
            })
        if self.path.startswith("/script/"):
            sid = self.path[len("/script/"):]
            with LOCK:
                SUBSCRIPTIONS[sid]["script"] = list(json.loads(raw)["statuses"])
            return self.answer(204)
        if self.path.startswith("/push/"):
            sid = self.path[len("/push/"):]
            with LOCK:
                sub = SUBSCRIPTIONS.get(sid)
                if sub is None:
                    return self.answer(404)
                sub["attempts"] += 1
                scripted = sub["script"].pop(0) if sub["script"] else None
            if scripted is not None and scripted >= 300:
                return self.answer(scripted)
            why = check_vapid(self.headers.get("Authorization", ""), self.origin(), sub["vapid"])
            if why is None and self.headers.get("Content-Encoding") != "aes128gcm":
                why = f"Content-Encoding is {self.headers.get('Content-Encoding')!r}"
            plaintext = None
            if why is None:
                try:
                    plaintext = http_ece.decrypt(
                        raw, private_key=sub["key"], auth_secret=sub["auth"], version="aes128gcm")
                except Exception as e:  # any failure to decrypt is the server's bug
                    why = f"could not decrypt: {e!r}"
            with LOCK:
                if why is not None:
                    sub["errors"].append(why)
                else:
                    sub["messages"].append({
                        "payload": json.loads(plaintext),
                        "headers": {
                            "ttl": self.headers.get("TTL"),
                            "topic": self.headers.get("Topic"),
                            "urgency": self.headers.get("Urgency"),
                        },
                    })
            if why is not None:
                return self.answer(403, {"error": why})
            return self.answer(201)
        self.answer(404)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    # Stop with the test that started us: when our stdin closes.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
