"""user_fx.py — a user of a role made with the CLI (`klantstem user add
--token`), for API tests that need a team lead's or an employee's bearer
token: shared by pulse_fx.py and test_export.py.
"""
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
