"""A real SMTP server for the e-mail tests (aiosmtpd): plain SMTP on 127.0.0.1, any port.

Usage: smtp_sink.py OUT_DIR. Prints the port it listens on (one line), then stores every
message it receives as OUT_DIR/<n>.json: {"mailFrom", "rcptTos", "subject", "headers":
[[name, value], ...] (unfolded, in order), "text" (the decoded plain-text body)}. Each file
is written under a temporary name and renamed, so a reader never sees half of one. Runs
until stdin closes or it is killed.
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Store:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": list(envelope.rcpt_tos),
            "subject": str(message.get("Subject", "")),
            "headers": [[name, str(value)] for name, value in message.items()],
            "text": body.get_content() if body is not None else "",
        }
        self.count += 1
        path = os.path.join(self.out_dir, f"{self.count:05}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 OK"


async def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = Store(out_dir)
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Stop when the test that started us goes away (its end of stdin closes).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
