"""Helpers for bench/invite (run with /usr/bin/python3, which sees Debian's
python3-aiosmtpd; standard library otherwise).

As an aiosmtpd handler (python3 -m aiosmtpd -c invite_smtp.CountingSink DIR):
    aiosmtpd.handlers.Sink that also counts the messages it accepted
    (DIR/count, rewritten after each one) and keeps the first one
    (DIR/first.eml), so the bench can check delivery and the reference
    sender can send exactly what klantstem sent.

As a program:
    invite_smtp.py post-contacts PORT IDS_FILE TOUCHPOINTS FIRST_UNIX
        POST /api/v1/contacts once per customer id in IDS_FILE (one a line),
        over one keep-alive connection, occurred_at FIRST_UNIX + i seconds,
        touchpoints cycling through TOUCHPOINTS ("1,2,3"). Prints
        "created=N other=M".
    invite_smtp.py reference PORT COUNT MESSAGE_FILE
        Send MESSAGE_FILE COUNT times to 127.0.0.1:PORT with smtplib, a new
        connection per message (EHLO, MAIL, RCPT, DATA, QUIT: what
        klantstem's libcurl send does). Prints "sent=N seconds=S".
"""

import http.client
import json
import os
import smtplib
import sys
import time

try:
    from aiosmtpd.handlers import Sink
except ImportError:  # the program modes do not need aiosmtpd
    Sink = object


class CountingSink(Sink):
    def __init__(self, directory):
        self.dir = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        if self.count == 1:
            with open(os.path.join(self.dir, "first.eml"), "wb") as f:
                f.write(envelope.original_content or envelope.content)
            with open(os.path.join(self.dir, "first.rcpt"), "w") as f:
                f.write("%s\n%s\n" % (envelope.mail_from, envelope.rcpt_tos[0]))
        # replace, so a reader never sees a half-written number
        tmp = os.path.join(self.dir, "count.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % self.count)
        os.replace(tmp, os.path.join(self.dir, "count"))
        return "250 OK"

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("CountingSink wants one argument: the directory")
        return cls(args[0])


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def post_contacts(port, ids_file, touchpoints, first):
    with open(ids_file) as f:
        ids = [int(x) for x in f.read().split()]
    tps = [int(x) for x in touchpoints.split(",") if x]
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    created = other = 0
    for i, cid in enumerate(ids):
        body = json.dumps({"customer_id": cid, "touchpoint_id": tps[i % len(tps)],
                           "channel": "phone", "occurred_at": iso(int(first) + i)})
        hdrs = {"Content-Type": "application/json"}
        if os.environ.get("KS_TOKEN"):  # the API needs a login (bench/invite exports it)
            hdrs["Authorization"] = "Bearer " + os.environ["KS_TOKEN"]
        conn.request("POST", "/api/v1/contacts", body, hdrs)
        r = conn.getresponse()
        data = r.read()
        if r.status != 201:
            sys.exit("POST /api/v1/contacts %s -> %d %s" % (body, r.status, data[:300]))
        if json.loads(data)["invitation"]["decision"] == "created":
            created += 1
        else:
            other += 1
    conn.close()
    print("created=%d other=%d" % (created, other))


def reference(port, count, message_file):
    with open(message_file, "rb") as f:
        msg = f.read()
    rcpt_file = os.path.join(os.path.dirname(message_file), "first.rcpt")
    sender, rcpt = "noreply@localhost", "customer@example.com"
    if os.path.exists(rcpt_file):
        with open(rcpt_file) as f:
            lines = f.read().split("\n")
            sender, rcpt = lines[0] or sender, lines[1] or rcpt
    t0 = time.monotonic()
    for _ in range(int(count)):
        s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
        s.sendmail(sender, [rcpt], msg)
        s.quit()
    dt = time.monotonic() - t0
    print("sent=%d seconds=%.3f" % (int(count), dt))


def main(argv):
    if len(argv) == 6 and argv[1] == "post-contacts":
        post_contacts(*argv[2:])
    elif len(argv) == 5 and argv[1] == "reference":
        reference(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
