#!/usr/bin/python3
"""smtp_sink.py — a real SMTP server for the invitation tests (aiosmtpd).

As a program (run it with /usr/bin/python3: Debian's python3-aiosmtpd):

    smtp_sink.py --port 2525 --dir /tmp/mails [--temp REGEX] [--perm REGEX] [--delay S]

listens on 127.0.0.1:PORT and stores every message it accepts as one file
DIR/<ns>-<seq>.eml (written to a hidden temporary name, then renamed, so a
reader never sees half a message). Two headers are put in front of the
message: X-Sink-Mail-From and X-Sink-Rcpt-To (the envelope). A recipient
whose address matches --temp (default: local part starting with "temp")
gets "451 4.3.0" at RCPT, one matching --perm (default: local part starting
with "perm") gets "550 5.1.1"; the matching is case-insensitive. --delay
waits that long after storing a message before answering 250 (a slow
server: the message is stored but the client has not heard back yet).
When it is listening it writes DIR/sink.ready; SIGTERM or SIGINT stop it.

As a module, for the tests:

    sink = smtp_sink.Sink()          # a temporary directory, a free port
    sink.start()                     # spawns the program, waits for sink.ready
    sink.url                         # "smtp://127.0.0.1:PORT" for serve --smtp
    sink.mails(to="x@example.org")   # parsed Mail objects, oldest first
    sink.stop(); sink.start()        # down and up again on the same port
    sink.cleanup()
"""

import os
import re
import sys

SINK_FILE_RE = re.compile(r"^\d+-\d+\.eml$")
READY = "sink.ready"
DEFAULT_TEMP = r"^temp[^@]*@"
DEFAULT_PERM = r"^perm[^@]*@"


# ---------------------------------------------------------------------------
# the server (child process)


def serve(argv):
    import argparse
    import asyncio
    import signal
    import threading
    import time

    from aiosmtpd.controller import Controller

    ap = argparse.ArgumentParser(description="SMTP sink for the klantstem tests")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--temp", default=DEFAULT_TEMP, help="regex: recipients answered 451")
    ap.add_argument("--perm", default=DEFAULT_PERM, help="regex: recipients answered 550")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before the 250 after DATA")
    a = ap.parse_args(argv)
    temp = re.compile(a.temp, re.I) if a.temp else None
    perm = re.compile(a.perm, re.I) if a.perm else None
    os.makedirs(a.dir, exist_ok=True)

    class Handler:
        def __init__(self):
            self.seq = 0
            self.lock = threading.Lock()

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if perm is not None and perm.search(address):
                return "550 5.1.1 <%s>: recipient rejected (permanent, test sink)" % address
            if temp is not None and temp.search(address):
                return "451 4.3.0 <%s>: try again later (temporary, test sink)" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            data = envelope.original_content or envelope.content
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogateescape")
            head = ("X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\n"
                    % (envelope.mail_from, ", ".join(envelope.rcpt_tos))).encode("utf-8", "replace")
            with self.lock:
                self.seq += 1
                name = "%020d-%06d.eml" % (time.time_ns(), self.seq)
            tmp = os.path.join(a.dir, ".tmp-" + name)
            with open(tmp, "wb") as f:
                f.write(head + data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(a.dir, name))
            if a.delay > 0:
                await asyncio.sleep(a.delay)
            return "250 2.0.0 Message accepted for delivery"

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ctl = Controller(Handler(), hostname=a.host, port=a.port, ready_timeout=10.0,
                     data_size_limit=32 * 1024 * 1024)
    ctl.start()
    ready = os.path.join(a.dir, READY)
    with open(ready + ".tmp", "w") as f:
        f.write("%d %d\n" % (os.getpid(), a.port))
    os.rename(ready + ".tmp", ready)
    while not stop.wait(0.2):
        pass
    ctl.stop()
    try:
        os.unlink(ready)
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------
# the tests' side


class Mail:
    """One stored message, parsed. Attributes: path, raw (bytes), msg (an
    email.message.EmailMessage), to, rcpt (envelope), subject, message_id,
    text and html (decoded parts, "" when absent), list_unsubscribe,
    list_unsubscribe_post."""

    def __init__(self, path):
        import email
        import email.policy
        self.path = path
        with open(path, "rb") as f:
            self.raw = f.read()
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        h = self.msg
        self.rcpt = str(h.get("X-Sink-Rcpt-To", ""))
        self.to = str(h.get("To", ""))
        self.subject = str(h.get("Subject", ""))
        self.message_id = str(h.get("Message-ID", "")).strip()
        self.list_unsubscribe = str(h.get("List-Unsubscribe", ""))
        self.list_unsubscribe_post = str(h.get("List-Unsubscribe-Post", ""))
        self.text = ""
        self.html = ""
        self.content_types = []
        for part in self.msg.walk():
            ct = part.get_content_type()
            self.content_types.append(ct)
            if part.is_multipart() or part.get_content_disposition() == "attachment":
                continue
            if ct == "text/plain" and not self.text:
                self.text = part.get_content()
            elif ct == "text/html" and not self.html:
                self.html = part.get_content()

    def addressed_to(self, addr):
        addr = addr.lower()
        return addr in self.rcpt.lower() or addr in self.to.lower()

    def links(self, part="html"):
        """Every http(s) URL in the html or text part (HTML entities undone)."""
        import html as htmlmod
        body = self.html if part == "html" else self.text
        urls = re.findall(r"""https?://[^\s"'<>]+""", body)
        return [htmlmod.unescape(u) for u in urls]

    def unsubscribe_url(self):
        m = re.search(r"<(https?://[^>]+)>", self.list_unsubscribe)
        return m.group(1) if m else None

    def __repr__(self):
        return "Mail(%s to=%r subject=%r id=%r)" % (os.path.basename(self.path), self.to,
                                                     self.subject, self.message_id)


class Sink:
    """The sink as a child process on a fixed loopback port."""

    def __init__(self, port=None, directory=None, temp=DEFAULT_TEMP, perm=DEFAULT_PERM, delay=0.0,
                 python="/usr/bin/python3"):
        import tempfile
        if port is None:
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
        self.port = port
        self.own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="ks-sink-")
        self.temp, self.perm, self.delay = temp, perm, delay
        self.python = python if os.path.exists(python) else sys.executable
        self.proc = None
        self.runs = 0

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def log(self):
        try:
            with open(os.path.join(self.dir, "sink.log.%d" % self.runs), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self, timeout=15.0):
        import subprocess
        import time
        if self.proc is not None:
            return
        ready = os.path.join(self.dir, READY)
        try:
            os.unlink(ready)
        except OSError:
            pass
        self.runs += 1
        cmd = [self.python, os.path.abspath(__file__), "--port", str(self.port), "--dir", self.dir,
               "--temp", self.temp or "", "--perm", self.perm or "", "--delay", str(self.delay)]
        with open(os.path.join(self.dir, "sink.log.%d" % self.runs), "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(ready):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        raise RuntimeError("SMTP sink on port %d did not start (exit %s):\n%s"
                           % (self.port, rc, self.log()[-3000:]))

    def stop(self, timeout=15.0):
        import signal
        import subprocess
        if self.proc is None:
            return
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self):
        import shutil
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def files(self):
        try:
            names = os.listdir(self.dir)
        except OSError:
            return []
        return sorted(os.path.join(self.dir, n) for n in names if SINK_FILE_RE.match(n))

    def count(self):
        return len(self.files())

    def mails(self, to=None):
        out = []
        for p in self.files():
            try:
                m = Mail(p)
            except OSError:
                continue
            if to is None or m.addressed_to(to):
                out.append(m)
        return out

    def wait_count(self, n, timeout=10.0):
        """Wait until at least n messages are stored; returns the count."""
        import time
        deadline = time.time() + timeout
        while True:
            c = self.count()
            if c >= n or time.time() >= deadline:
                return c
            time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
