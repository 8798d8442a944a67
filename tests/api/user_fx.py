"""user_fx.py — users for API tests: a user of a role made with the CLI
(`klantstem user add --token`) and its bearer token (pulse_fx.py,
test_export.py), and a logged-in session's headers (test_digests.py,
test_governance.py, test_kpis.py).
"""
import re

import ks


def role_token(db, role, label, unit=None, emp=None):
    """The bearer token of a new user of role in db (unit: its unit, emp:
    its employee). label names the password, the address, the user and the
    token, so that a failing test says whose user it was."""
    env = ks.sanitizer_env()
    env["KLANTSTEM_PASSWORD"] = "%s-test-password" % label
    args = ["user", "add", "--db", db, "--email", "%s-%s@test.local" % (role, ks.uniq(label)),
            "--name", "%s %s" % (label.capitalize(), role), "--role", role, "--token", label]
    if unit:
        args += ["--unit-id", str(unit)]
    if emp:
        args += ["--employee-id", str(emp)]
    rc, out, err = ks.run_cli(args, env=env)
    for line in out.splitlines():
        if line.startswith("token: "):
            return line[len("token: "):].strip()
    raise ks.FixtureError("cannot create a %s (rc %s): %s %s" % (role, rc, out, err))


def session(srv, email, password):
    """Log in as email: the headers (session cookie and CSRF token) of its
    requests."""
    st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": password}, auth=False)
    cookie = None
    for sc in (hd.get_all("Set-Cookie") or []) if hd is not None else []:
        m = re.match(r"ks_session=([^;]+)", sc)
        if m:
            cookie = m.group(1)
    if st != 200 or not cookie:
        raise ks.FixtureError("login %s -> %s" % (email, ks.got(st, body)))
    return {"Cookie": "ks_session=" + cookie, "X-CSRF-Token": body.get("csrf_token", "")}
