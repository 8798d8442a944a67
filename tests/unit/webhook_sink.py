#!/usr/bin/python3
"""webhook_sink.py — a tiny webhook receiver for tests/unit/test_webhook.c.

    /usr/bin/python3 tests/unit/webhook_sink.py RECORD_FILE SECRET

Listens on 127.0.0.1 at a free port and prints that port on stdout (one
line), then serves until killed. Every POST is written to RECORD_FILE
(replaced atomically, before the answer goes out) as

    path=<path>
    verified=<1|0>          the signature checked here, with Python's hmac
    <Header>: <value>       every request header, as received
    <empty line>
    <body>

and answered 204; /fail answers 500, /slow sleeps 3 s before answering 204.
Standard library only.
"""
import hashlib
import hmac
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORD, SECRET = sys.argv[1], sys.argv[2].encode()


def verified(headers, body):
    """HMAC-SHA256(secret, "<ts>.<body>") == the sha256=<hex> header."""
    ts = headers.get("X-Klantstem-Timestamp", "")
    sig = headers.get("X-Klantstem-Signature", "")
    if not sig.startswith("sha256="):
        return False
    want = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig[len("sha256="):])


class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        lines = [f"path={self.path}", f"verified={int(verified(self.headers, body))}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        tmp = RECORD + ".tmp"
        with open(tmp, "wb") as f:
            f.write(("\n".join(lines) + "\n\n").encode() + body)
        os.replace(tmp, RECORD)
        if self.path == "/slow":
            time.sleep(3)
        status = 500 if self.path == "/fail" else 204
        self.send_response(status)
        if status == 500:
            msg = b"receiver broke\n"
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
        else:
            self.end_headers()

    def log_message(self, fmt, *args):  # keep the test's TAP output clean
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
