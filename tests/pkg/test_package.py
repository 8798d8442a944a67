#!/usr/bin/python3
"""The Debian package (issue 18, PKG; mk/package.mk, packaging/): build it,
check what is in it and what `make install` does, install it for real with
dpkg (as an upgrade from the same package repacked under a lower version,
with changed settings), start the service the way its systemd unit says,
and take it all away again (dpkg -r, dpkg -P).

    KS_DEB=path.deb   test this package instead of building one (`make deb`)
    KS_REL_DIR=DIR    the release build `make deb` packs (default the
                      Makefile's REL_DIR, build/release, which `make test`
                      builds anyway)

It needs root (dpkg -i) and a machine without klantstem: it refuses to run
when the package, /etc/default/klantstem or a service state directory is
already there (purging would delete someone's data). It leaves the machine
as it found it, also when a check fails.

Starting the service: where systemd is PID 1 this is `systemctl restart`.
Elsewhere (containers, CI) the test does what systemd would do with the
installed unit file: it reads Environment= and the EnvironmentFile, expands
%S and the variables in ExecStart= as systemd does, and runs that command
line as an unprivileged user (setpriv, no new privileges, no capabilities)
with STATE_DIRECTORY pointing at a directory owned by that user. When
strace is installed that run is traced, and the system calls, socket
families, memory protections and file writes are compared with what the
unit's SystemCallFilter=, RestrictAddressFamilies=,
MemoryDenyWriteExecute= and ProtectSystem=strict allow (systemd itself
cannot enforce them without being PID 1). Expected values come from the
tree (web/, docs/, src/cli/main.c's KS_VERSION, the migrations), from
dpkg, ldconfig and systemd-analyze, never from the product.
"""
import glob
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "api"))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

REPO = ks.REPO
PKG = "klantstem"
UNIT = "/lib/systemd/system/klantstem.service"
ENV_FILE = "/etc/default/klantstem"
STATE_PRIVATE = "/var/lib/private/klantstem"
STATE_LINK = "/var/lib/klantstem"
RUN_AS = "nobody"
RUN_GROUP = "nogroup"
# What the issue asks of the unit, line by line (docs/OPERATIONS.md "Install").
UNIT_MUST = {
    "DynamicUser": "yes", "StateDirectory": "klantstem", "ProtectSystem": "strict",
    "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes", "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    "CapabilityBoundingSet": "", "Restart": "on-failure", "Type": "simple",
    "EnvironmentFile": "-/etc/default/klantstem",
}
# systemd-analyze security: 0 is a sealed box, 10 no sandbox at all; the
# unit scored 1.2 when it was written.
EXPOSURE_MAX = 2.0


def sh(args, timeout=120, **kw):
    """(rc, stdout, stderr) of a command; never raises for a bad status."""
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, text=True, **kw)
        return p.returncode, p.stdout, p.stderr
    except FileNotFoundError as ex:
        return 127, "", str(ex)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %s s" % timeout


def ks_version():
    """KS_VERSION from src/cli/main.c, read here with a regex."""
    with open(os.path.join(REPO, "src/cli/main.c"), encoding="utf-8") as f:
        m = re.search(r'^#define KS_VERSION "([^"]+)"$', f.read(), re.M)
    if not m:
        raise ks.FixtureError("no KS_VERSION in src/cli/main.c")
    return m.group(1)


def expected_files():
    """The regular files the package must hold, from the tree."""
    out = {"/usr/bin/klantstem", UNIT, ENV_FILE, "/usr/share/man/man1/klantstem.1.gz",
           "/usr/share/doc/klantstem/copyright", "/usr/share/doc/klantstem/changelog.gz",
           "/usr/share/doc/klantstem/README.md"}
    for p in glob.glob(os.path.join(REPO, "docs", "*.md")):
        out.add("/usr/share/doc/klantstem/" + os.path.basename(p))
    web = os.path.join(REPO, "web")
    for part in ("index.html", "css", "img", "js", "vendor"):
        top = os.path.join(web, part)
        if os.path.isfile(top):
            out.add("/usr/share/klantstem/web/" + part)
        for d, _, files in os.walk(top):
            for f in files:
                if not f.endswith(".tmp"):
                    out.add("/usr/share/klantstem/web/" + os.path.relpath(os.path.join(d, f), web))
    return out


def deb_contents(deb):
    """{path: (mode string, owner/group, size)} of the regular files in deb."""
    rc, out, err = sh(["dpkg-deb", "-c", deb])
    if rc:
        raise ks.FixtureError("dpkg-deb -c: %s" % err)
    files = {}
    for line in out.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[0].startswith("-"):
            continue
        path = parts[5]
        files[path[1:] if path.startswith("./") else path] = (parts[0], parts[1], int(parts[2]))
    return files


def needed_packages(binary):
    """The Debian packages of the libraries the binary links directly
    (ELF NEEDED), found with objdump, ldconfig and dpkg -S."""
    rc, out, err = sh(["objdump", "-p", binary])
    if rc:
        raise ks.FixtureError("objdump -p: %s" % err)
    needed = re.findall(r"^\s*NEEDED\s+(\S+)$", out, re.M)
    rc, cache, _ = sh(["ldconfig", "-p"])
    pkgs = {}
    for so in needed:
        m = re.search(r"^\s*%s \(libc6,x86-64[^)]*\) => (\S+)$" % re.escape(so), cache, re.M) or \
            re.search(r"^\s*%s \([^)]*\) => (\S+)$" % re.escape(so), cache, re.M)
        if not m:
            pkgs[so] = None
            continue
        path = m.group(1)
        cands = {path, os.path.realpath(path)}
        for c in list(cands):  # usrmerge: dpkg knows one of /lib and /usr/lib
            if c.startswith("/usr/lib/"):
                cands.add(c[4:])
            elif c.startswith("/lib/"):
                cands.add("/usr" + c)
        owner = None
        for c in sorted(cands):
            rc, o, _ = sh(["dpkg", "-S", c])
            if rc == 0 and o:
                owner = o.split(":", 1)[0].strip()
                break
        pkgs[so] = owner
    return pkgs


def parse_unit(path):
    """{section: [(key, value), ...]} of a systemd unit file."""
    secs, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = secs.setdefault(line[1:-1], [])
                continue
            k, _, v = line.partition("=")
            cur.append((k.strip(), v.strip()))
    return secs


def unit_values(secs, key, section="Service"):
    return [v for k, v in secs.get(section, []) if k == key]


def env_file_vars(path):
    """KEY=VALUE lines of an EnvironmentFile (comments, quotes)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            k, sep, v = line.partition("=")
            if not sep:
                continue
            vals = shlex.split(v) if v.strip() else [""]
            out[k.strip()] = " ".join(vals)
    return out


def expand_specifiers(s, state_root):
    """The specifiers the unit may use: %S (the state root) and %%."""
    def rep(m):
        c = m.group(1)
        if c == "S":
            return state_root
        if c == "%":
            return "%"
        raise ks.FixtureError("the unit uses specifier %%%s, which this test does not know" % c)
    return re.sub(r"%(.)", rep, s)


def expand_exec(line, env):
    """ExecStart= as systemd expands it: a word that is exactly $VAR becomes
    the variable's value split at whitespace (zero or more words); ${VAR}
    inside a word is replaced in place."""
    argv = []
    for w in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
        if m:
            argv.extend(env.get(m.group(1), "").split())
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda x: env.get(x.group(1), ""), w))
    return argv


def http_get(port, path, headers=None, timeout=5):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as ex:
        return ex.code, dict(ex.headers), ex.read()
    except OSError as ex:
        return None, {}, str(ex).encode()


def http_post_json(port, path, body, timeout=30, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method="POST",
                                 data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as ex:
        return ex.code, dict(ex.headers), ex.read()
    except OSError as ex:
        return None, {}, str(ex).encode()


def wait_health(port, proc=None, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return None
        st, _, _ = http_get(port, "/healthz", timeout=2)
        if st == 200:
            return st
        time.sleep(0.2)
    return None


def expand_filter_group(name, cache):
    """The system calls of a systemd-analyze syscall-filter group, nested
    groups expanded (systemd's own table)."""
    if name in cache:
        return cache[name]
    rc, out, err = sh(["systemd-analyze", "syscall-filter", name])
    if rc:
        raise ks.FixtureError("systemd-analyze syscall-filter %s: %s" % (name, err))
    names = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names |= expand_filter_group(line, cache) if line.startswith("@") else {line}
    cache[name] = names
    return names


def unit_syscall_allow(secs):
    """The set of system calls the unit's SystemCallFilter= lines allow."""
    cache, allow, deny = {}, set(), set()
    for v in unit_values(secs, "SystemCallFilter"):
        neg = v.startswith("~")
        for item in (v[1:] if neg else v).split():
            names = expand_filter_group(item, cache) if item.startswith("@") else {item}
            (deny if neg else allow).update(names)
    return allow - deny


class State:
    """What the test changed on the machine, for the cleanup."""

    def __init__(self):
        # under /tmp itself, not $TMPDIR: the service runs as nobody, who
        # must reach its state directory, and tests/run gives each program
        # a TMPDIR inside a directory only root may enter
        self.tmp = tempfile.mkdtemp(prefix="ks-pkg-", dir="/tmp")
        self.installed = False
        self.proc = None
        self.sink = None
        self.made_private = False


# ---------------------------------------------------------------------------


def preflight(t):
    """Refuse (one failed check, nothing touched) on a machine this test could harm."""
    if os.geteuid() != 0:
        t.check(False, "test_package needs root: it installs the package with dpkg -i "
                "(run it as root, as CI does)", "euid %d" % os.geteuid())
        return False
    rc, out, _ = sh(["dpkg-query", "-W", "-f=${db:Status-Status}", PKG])
    there = [p for p in (ENV_FILE, STATE_PRIVATE, STATE_LINK) if os.path.lexists(p)]
    if (rc == 0 and out.strip() not in ("", "not-installed")) or there:
        t.check(False, "the machine has no klantstem package, %s or state directory "
                "(the test installs and purges the package)" % ENV_FILE,
                "dpkg status %r; present: %s" % (out.strip(), there))
        return False
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        t.check(False, "user %s exists (the service runs as an unprivileged user)" % RUN_AS)
        return False
    return True


def build_deb(t, st):
    deb = os.environ.get("KS_DEB")
    if deb:
        t.check(os.path.isfile(deb), "KS_DEB names a file: %s" % deb)
        return os.path.abspath(deb) if os.path.isfile(deb) else None
    deb = os.path.join(st.tmp, "klantstem.deb")
    args = ["make", "--no-print-directory", "-C", REPO, "deb", "DEB=" + deb]
    if os.environ.get("KS_REL_DIR"):
        args.append("REL_DIR=" + os.environ["KS_REL_DIR"])
    t0 = time.time()
    rc, out, err = sh(args, timeout=900)
    ok = t.check(rc == 0 and os.path.isfile(deb), "make deb builds the package (%.0f s)" % (time.time() - t0),
                 (out + err)[-3000:])
    return deb if ok else None


def check_make_install(t, st):
    """make install PREFIX=/usr/local DESTDIR=...: the same files as the
    package, below PREFIX (unit and settings too), the licence as LICENSE;
    make uninstall takes them away again."""
    stage = os.path.join(st.tmp, "stage")
    base = ["make", "--no-print-directory", "-C", REPO, "PREFIX=/usr/local", "DESTDIR=" + stage]
    if os.environ.get("KS_REL_DIR"):
        base.append("REL_DIR=" + os.environ["KS_REL_DIR"])
    rc, out, err = sh(base + ["install"], timeout=900)
    t.check(rc == 0, "make install PREFIX=/usr/local DESTDIR=...", (out + err)[-2000:])
    got_files = set()
    for d, _, files in os.walk(stage):
        for f in files:
            got_files.add("/" + os.path.relpath(os.path.join(d, f), stage))
    want = set()
    for p in expected_files() - {"/usr/share/doc/klantstem/changelog.gz"}:  # the package's own
        if p == "/usr/share/doc/klantstem/copyright":
            p = "/usr/share/doc/klantstem/LICENSE"
        if p.startswith("/usr/"):
            want.add("/usr/local/" + p[len("/usr/"):])
        elif p.startswith("/lib/"):
            want.add("/usr/local/lib/" + p[len("/lib/"):])
        elif p.startswith("/etc/"):
            want.add("/usr/local/etc/" + p[len("/etc/"):])
    t.check(got_files == want, "make install puts the package's files below DESTDIR/usr/local (%d)" % len(want),
            "missing: %s\nextra: %s" % (sorted(want - got_files)[:10], sorted(got_files - want)[:10]))
    unit = os.path.join(stage, "usr/local/lib/systemd/system/klantstem.service")
    ex = unit_values(parse_unit(unit), "ExecStart") if os.path.exists(unit) else []
    envf = unit_values(parse_unit(unit), "EnvironmentFile") if os.path.exists(unit) else []
    t.check(len(ex) == 1 and ex[0].startswith("/usr/local/bin/klantstem serve ")
            and envf == ["-/usr/local/etc/default/klantstem"],
            "the installed unit runs /usr/local/bin/klantstem with /usr/local/etc/default/klantstem", (ex, envf))
    rc, out, err = sh(base + ["uninstall"], timeout=300)
    left = [os.path.join(d, f) for d, _, fs in os.walk(stage) for f in fs]
    t.check(rc == 0 and not left, "make uninstall removes every file it installed", (out + err)[-500:] + str(left[:10]))


def check_deb(t, deb, version):
    arch = sh(["dpkg", "--print-architecture"])[1].strip()
    rc, out, err = sh(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends",
                       "Maintainer", "Installed-Size", "Description"])
    fields = {}
    for line in out.splitlines():
        if not line.startswith(" ") and ":" in line:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    t.eq(fields.get("Package"), PKG, "control: Package klantstem")
    t.eq(fields.get("Version"), version, "control: Version is KS_VERSION of src/cli/main.c")
    t.eq(fields.get("Architecture"), arch, "control: Architecture is dpkg's (%s)" % arch)
    t.check(bool(fields.get("Maintainer")) and bool(fields.get("Description")),
            "control: Maintainer and Description are set", fields)
    files = deb_contents(deb)
    want = expected_files()
    got_set = set(files)
    t.check(got_set == want, "the package holds exactly the binary, the web UI of web/, the unit, "
            "the settings file, the manual page and the docs (%d files)" % len(want),
            "missing: %s\nextra: %s" % (sorted(want - got_set), sorted(got_set - want)))
    owners = {v[1] for v in files.values()}
    t.eq(owners, {"root/root"}, "every file belongs to root/root (dpkg-deb --root-owner-group)")
    modes = {p: v[0] for p, v in files.items()}
    t.eq(modes.get("/usr/bin/klantstem"), "-rwxr-xr-x", "the binary is 0755")
    t.eq(modes.get(ENV_FILE), "-rw-------", "%s is 0600 (it may hold secrets)" % ENV_FILE)
    others = {p: m for p, m in modes.items() if p not in ("/usr/bin/klantstem", ENV_FILE) and m != "-rw-r--r--"}
    t.eq(others, {}, "every other file is 0644")
    inst = int(fields.get("Installed-Size", "0") or 0)
    total_kb = sum(v[2] for v in files.values()) / 1024.0
    t.check(total_kb <= inst <= total_kb * 1.5 + 64, "control: Installed-Size (%s KiB) fits the files' %.0f KiB"
            % (inst, total_kb))
    rc, conff, _ = sh(["dpkg-deb", "-I", deb, "conffiles"])
    t.eq(conff.split(), [ENV_FILE], "conffiles: %s (an upgrade keeps the administrator's settings)" % ENV_FILE)
    for script in ("postinst", "prerm", "postrm"):
        rc, body, _ = sh(["dpkg-deb", "-I", deb, script])
        t.check(rc == 0 and body.startswith("#!/bin/sh") and "/run/systemd/system" in body,
                "%s is a shell script that asks for systemd before calling systemctl" % script, body[:300])
    return fields


def check_depends(t, fields):
    """Depends names the package of every library the binary links, and the
    data it reads at run time."""
    deps = {d.strip().split()[0] for d in fields.get("Depends", "").split(",") if d.strip()}
    pkgs = needed_packages("/usr/bin/klantstem")
    # a library package reached through a metapackage's alternatives also
    # counts (libopenblas.so.0: libopenblas0 -> libopenblas0-pthread | ...)
    via = {}
    for d in deps:
        rc, out, _ = sh(["dpkg-query", "-W", "-f=${Depends}", d])
        for alt in out.split(","):
            for a in alt.split("|"):
                if a.strip():
                    via.setdefault(a.strip().split()[0], d)
    missing = {so: p for so, p in pkgs.items() if p is None or (p not in deps and p not in via)}
    t.check(pkgs and not missing, "Depends names the package of each of the %d libraries the binary "
            "links, or a metapackage of it (objdump NEEDED -> ldconfig -> dpkg -S)" % len(pkgs),
            "not in Depends: %s\nDepends: %s" % (missing, sorted(deps)))
    for data in ("libexttextcat-data", "fonts-dejavu-core"):
        t.check(data in deps, "Depends names %s (read at run time)" % data, sorted(deps))


def older_deb(t, st, deb, version):
    """The same package under a lower version (VERSION~pkgtest), repacked
    with dpkg-deb: what an upgrade starts from."""
    root = os.path.join(st.tmp, "older")
    rc, out, err = sh(["dpkg-deb", "-R", deb, root])
    ctl = os.path.join(root, "DEBIAN", "control")
    if rc == 0:
        with open(ctl, encoding="utf-8") as f:
            text = f.read()
        with open(ctl, "w", encoding="utf-8") as f:
            f.write(re.sub(r"^Version: .*$", "Version: %s~pkgtest" % version, text, flags=re.M))
        old = os.path.join(st.tmp, "older.deb")
        rc, out2, err2 = sh(["dpkg-deb", "--root-owner-group", "-b", root, old])
        out, err = out + out2, err + err2
    t.check(rc == 0, "dpkg-deb repacks the package as version %s~pkgtest" % version, out + err)
    return old if rc == 0 else None


def install_older(t, st, old, version, settings):
    """Install the older package and change its settings file, as an
    administrator would before the upgrade."""
    rc, out, err = sh(["dpkg", "-i", old], timeout=300)
    st.installed = True  # even a half-configured install is purged at the end
    t.check(rc == 0, "dpkg -i installs the older package", (out + err)[-2000:])
    rc, out, _ = sh(["dpkg-query", "-W", "-f=${Status} ${Version}", PKG])
    t.eq(out, "install ok installed %s~pkgtest" % version, "dpkg-query: the older version is installed")
    with open(ENV_FILE, "a", encoding="utf-8") as f:
        f.write(settings)


def install(t, st, deb, version, settings):
    """dpkg -i of the package under test: an upgrade from older_deb."""
    rc, out, err = sh(["dpkg", "-i", deb], timeout=300)
    st.installed = True
    t.check(rc == 0, "dpkg -i upgrades to the package under test", (out + err)[-2000:])
    rc, out, _ = sh(["dpkg-query", "-W", "-f=${Status} ${Version}", PKG])
    t.eq(out, "install ok installed %s" % version, "dpkg-query: klantstem %s is installed and configured" % version)
    with open(ENV_FILE, encoding="utf-8") as f:
        kept = f.read()
    t.check(kept.endswith(settings), "the upgrade keeps the administrator's changes to %s (a conffile)"
            % ENV_FILE, kept[-400:])
    rc, out, _ = sh(["dpkg", "-L", PKG])
    listed = set(out.split())
    files = deb_contents(deb)
    absent = [p for p in files if p not in listed or not os.path.isfile(p)
              or (p != ENV_FILE and os.path.getsize(p) != files[p][2])]
    t.check(not absent, "every file of the package is on disk, at its size, and in dpkg -L (%d)" % len(files),
            absent[:20])
    rc, out, err = sh(["dpkg", "--verify", PKG])
    other = [l for l in out.splitlines() if not l.endswith(" c " + ENV_FILE)]
    t.check(rc in (0, 1) and not other and not err.strip(),
            "dpkg --verify: every installed file but the changed settings matches md5sums", out + err)
    return listed


def check_unit(t, version):
    rc, out, err = sh(["systemd-analyze", "verify", UNIT], timeout=60)
    t.check(rc == 0 and not (out + err).strip(), "systemd-analyze verify %s passes" % UNIT, out + err)
    rc, out, err = sh(["systemd-analyze", "security", "--offline=true", "--no-pager", UNIT], timeout=60)
    m = re.search(r"Overall exposure level for klantstem\.service: ([0-9.]+)", out + err)
    score = float(m.group(1)) if m else None
    print("# systemd-analyze security: exposure %s" % score, flush=True)
    t.check(score is not None and score <= EXPOSURE_MAX,
            "systemd-analyze security --offline: exposure %s <= %.1f" % (score, EXPOSURE_MAX), (out + err)[-1500:])
    secs = parse_unit(UNIT)
    for k, want in UNIT_MUST.items():
        t.eq(unit_values(secs, k), [want], "unit: %s=%s" % (k, want))
    sysf = unit_values(secs, "SystemCallFilter")
    t.check("@system-service" in sysf, "unit: SystemCallFilter=@system-service", sysf)
    stop = unit_values(secs, "TimeoutStopSec")
    t.check(len(stop) == 1 and re.fullmatch(r"\d+s?", stop[0]) is not None,
            "unit: TimeoutStopSec in seconds", stop)
    env = {}
    for v in unit_values(secs, "Environment"):
        for a in shlex.split(v):
            k, _, val = a.partition("=")
            env[k] = val
    t.eq(env.get("KLANTSTEM_LISTEN"), "127.0.0.1:8080", "unit: listens on 127.0.0.1:8080 by default")
    t.eq(env.get("KLANTSTEM_DB"), "%S/klantstem/ks.db",
         "unit: the database is ks.db in the StateDirectory (%S/klantstem)")
    ex = unit_values(secs, "ExecStart")
    t.check(len(ex) == 1 and ex[0].startswith("/usr/bin/klantstem serve "),
            "unit: ExecStart runs the installed /usr/bin/klantstem serve", ex)
    rc, out, _ = sh(["/usr/bin/klantstem", "version"])
    t.eq(out.strip(), "klantstem %s" % version, "the installed binary says its version (the package's)")
    return secs, env


def service_env(secs, state_root, state_dir, extra):
    """The service's environment as systemd builds it: its own variables,
    Environment= (specifiers expanded), then the EnvironmentFile."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/", "USER": RUN_AS, "LOGNAME": RUN_AS, "SHELL": "/usr/sbin/nologin",
           "STATE_DIRECTORY": state_dir, "LANG": "C.UTF-8"}
    for v in unit_values(secs, "Environment"):
        for a in shlex.split(expand_specifiers(v, state_root)):
            k, _, val = a.partition("=")
            env[k] = val
    for f in unit_values(secs, "EnvironmentFile"):
        path = f[1:] if f.startswith("-") else f
        if os.path.exists(path):
            env.update(env_file_vars(path))
    env.update(extra)
    return env


def child_pid(pid):
    """The (single) child of pid, or None."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def check_trace(t, trace, secs, state_dir):
    """The traced run against the unit's sandbox settings."""
    with open(trace, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    start = next((i for i, l in enumerate(lines) if 'execve("/usr/bin/klantstem"' in l), None)
    if not t.check(start is not None, "strace saw the server start (execve /usr/bin/klantstem)"):
        return
    lines = lines[start:]
    calls = set()
    for l in lines:
        m = re.match(r"^\d+\s+([a-z0-9_]+)\(", l)
        if m:
            calls.add(m.group(1))
    allowed = unit_syscall_allow(secs)
    t.check(calls and not (calls - allowed),
            "the server's %d distinct system calls are all allowed by the unit's SystemCallFilter= "
            "(start, requests, SIGTERM)" % len(calls), sorted(calls - allowed))
    wx = [l for l in lines if re.search(r"\b(?:pkey_)?mprotect\([^)]*PROT_EXEC", l)
          or (re.search(r"\bmmap\(", l) and "PROT_WRITE" in l and "PROT_EXEC" in l)]
    t.check(not wx, "no writable+executable mapping and no mprotect to executable "
            "(MemoryDenyWriteExecute=yes)", wx[:5])
    fams = set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", "\n".join(lines)))
    allow_f = set(" ".join(unit_values(secs, "RestrictAddressFamilies")).split())
    t.check(fams and fams <= allow_f, "sockets only of RestrictAddressFamilies= (%s)" % " ".join(sorted(fams)),
            sorted(fams - allow_f))
    writes, inside = set(), set()
    for l in lines:
        m = re.search(r'\bopen(?:at)?\((?:AT_FDCWD, )?"([^"]+)", ([A-Z_|]+)', l)
        if m and re.search(r"O_WRONLY|O_RDWR|O_CREAT", m.group(2)):
            p = m.group(1)
            if p.startswith(state_dir + "/"):
                inside.add(os.path.basename(p))
            elif not (p.startswith("/tmp/") or p.startswith("/dev/")):
                writes.add(p)
    t.check("ks.db" in inside and not writes, "the server opens files for writing only in the state "
            "directory (%s) and /tmp (ProtectSystem=strict makes the rest read-only)" % " ".join(sorted(inside)),
            sorted(writes)[:10])


ADMIN_EMAIL, ADMIN_PASSWORD = "admin@pkg.test", "pkg-test-password-1"


def make_state_dir(st):
    """%S and $STATE_DIRECTORY as systemd makes them: the directory owned by
    the service's user, mode 0700 (StateDirectoryMode)."""
    state_root = os.path.join(st.tmp, "var-lib")
    state_dir = os.path.join(state_root, "klantstem")
    os.makedirs(state_dir)
    os.chmod(st.tmp, 0o755)
    os.chmod(state_root, 0o755)
    pw = pwd.getpwnam(RUN_AS)
    os.chown(state_dir, pw.pw_uid, pw.pw_gid)
    os.chmod(state_dir, 0o700)
    return state_root, state_dir


def service_argv(t, secs, env, state_dir, port, mport, sport):
    """ExecStart= expanded, checked against what the settings ask for."""
    t.eq(env.get("KLANTSTEM_LISTEN"), "127.0.0.1:%d" % port,
         "%s overrides the unit's KLANTSTEM_LISTEN" % ENV_FILE)
    argv = expand_exec(unit_values(secs, "ExecStart")[0], env)
    t.eq(argv[:6], ["/usr/bin/klantstem", "serve", "--db", os.path.join(state_dir, "ks.db"),
                    "--listen", "127.0.0.1:%d" % port],
         "ExecStart expands to serve --db $STATE_DIRECTORY/ks.db --listen (from %s)" % ENV_FILE)
    t.eq(argv[6:], ["--metrics-listen", "127.0.0.1:%d" % mport, "--log-format", "json",
                    "--smtp", "smtp://localhost:%d" % sport],
         "$KLANTSTEM_OPTS becomes one argument per word")
    return argv


def start_service(t, st, argv, env, port, trace, log_path):
    """Run argv as RUN_AS (no new privileges, no capabilities, umask 0077),
    under strace when trace is set; returns the server's pid or None."""
    cmd = ["setpriv", "--reuid=" + RUN_AS, "--regid=" + RUN_GROUP, "--clear-groups", "--no-new-privs",
           "--inh-caps=-all", "--bounding-set=-all", "--"] + argv
    if trace:
        cmd = [shutil.which("strace"), "-f", "-qq", "-o", trace] + cmd
    with open(log_path, "w") as log:
        st.proc = subprocess.Popen(cmd, cwd="/", env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   preexec_fn=lambda: os.umask(0o077), start_new_session=True)
    up = wait_health(port, st.proc, timeout=60 if trace else 30)
    if not t.check(up == 200, "the service answers /healthz 200 on 127.0.0.1:%d" % port, _tail(log_path)):
        return None
    pid = child_pid(st.proc.pid) if trace else st.proc.pid
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
        with open("/proc/%d/status" % pid) as f:
            uids = re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()
    except (OSError, TypeError, AttributeError):
        exe, uids = None, []
    uid = str(pwd.getpwnam(RUN_AS).pw_uid)
    t.check(exe == "/usr/bin/klantstem" and uids == [uid] * 4,
            "the server process is /usr/bin/klantstem running as %s (all four uids)" % RUN_AS, (exe, uids))
    return pid


def check_serving(t, port, mport):
    """Probes, the web UI from the installed files, the metrics listener."""
    code, _, body = http_get(port, "/readyz")
    try:
        rb = json.loads(body)
    except ValueError:
        rb = None
    t.check(code == 200 and isinstance(rb, dict) and rb.get("ready") is True,
            "/readyz 200 ready:true", (code, body[:300]))
    code, _, body = http_get(port, "/")
    with open(os.path.join(REPO, "web/index.html"), "rb") as f:
        index = f.read()
    t.check(code == 200 and body == index, "GET / serves web/index.html from /usr/share/klantstem/web "
            "(no --web-root flag)", (code, body[:200]))
    code, _, body = http_get(port, "/vendor/echarts.esm.min.js")
    with open(os.path.join(REPO, "web/vendor/echarts.esm.min.js"), "rb") as f:
        echarts_len = len(f.read())
    t.check(code == 200 and len(body) == echarts_len, "GET /vendor/echarts.esm.min.js serves the vendored "
            "ECharts (%d bytes)" % echarts_len, (code, len(body)))
    code, _, body = http_get(mport, "/metrics")
    t.check(code == 200 and b"klantstem_http_requests_total" in body,
            "--metrics-listen from KLANTSTEM_OPTS: /metrics on 127.0.0.1:%d" % mport, (code, body[:200]))


def check_first_admin(t, port, db):
    """docs/OPERATIONS.md "Install": root runs `klantstem user add` on the
    live database; the service keeps owning its files and logs the admin
    in. Returns the admin's API token (or None)."""
    uenv = dict(os.environ, KLANTSTEM_PASSWORD=ADMIN_PASSWORD)
    rc, out, err = sh(["/usr/bin/klantstem", "user", "add", "--db", db, "--email", ADMIN_EMAIL,
                       "--name", "Package Test", "--role", "admin", "--token", "pkg-test"], env=uenv, cwd="/")
    t.check(rc == 0, "root adds the first admin with klantstem user add on the running service's database",
            out + err)
    token = next((l[len("token: "):].strip() for l in out.splitlines() if l.startswith("token: ")), None)
    uid = pwd.getpwnam(RUN_AS).pw_uid
    side = {os.path.basename(db + x): os.stat(db + x).st_uid for x in ("", "-wal", "-shm")
            if os.path.exists(db + x)}
    t.check(side.get("ks.db") == uid and all(u == uid for u in side.values()),
            "after root's user add the database and its -wal/-shm still belong to %s" % RUN_AS, side)
    code, _, body = http_post_json(port, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    t.check(code == 200, "the service logs that admin in (POST /api/v1/auth/login 200)", (code, body[:300]))
    return token


def check_mail(t, port, token, sink):
    """A mail through --smtp smtp://localhost:PORT from KLANTSTEM_OPTS: the
    name lookup and libcurl's SMTP exchange run inside the traced server."""
    n = sink.count()
    code, _, body = http_post_json(port, "/api/v1/admin/smtp-test", {"to": "ops@pkg.test"}, token=token)
    try:
        b = json.loads(body)
    except ValueError:
        b = None
    t.check(code == 200 and isinstance(b, dict) and b.get("sent") is True,
            "the admin's SMTP test through smtp://localhost (name lookup, libcurl) -> 200 sent", (code, body[:300]))
    sink.wait_count(n + 1)
    got = sink.mails(to="ops@pkg.test")
    t.check(len(got) == 1 and "testmail" in got[0].subject, "the sink received that one test mail",
            [m.subject for m in got])


def check_text_data(t, env):
    """The language profiles come from the installed system, not the tree."""
    rc, out, err = sh(["setpriv", "--reuid=" + RUN_AS, "--regid=" + RUN_GROUP, "--clear-groups", "--",
                       "/usr/bin/klantstem", "text", "analyze"],
                      input="De bezorging was erg traag en de klantenservice reageerde niet op mijn mails\n",
                      cwd="/", env={"PATH": env["PATH"], "HOME": "/"})
    try:
        row = json.loads(out.splitlines()[0])
    except (ValueError, IndexError):
        row = None
    t.check(rc == 0 and isinstance(row, dict) and row.get("lang") == "nl",
            "the installed binary finds its language data (text analyze as %s from /: lang nl)" % RUN_AS,
            out + err)


def stop_service(t, st, secs, pid, log_path):
    """SIGTERM, as systemctl stop sends it; returns the log text."""
    stop_s = int(unit_values(secs, "TimeoutStopSec")[0].rstrip("s"))
    t0 = time.time()
    os.kill(pid, signal.SIGTERM)
    try:
        rc = st.proc.wait(timeout=stop_s)
        st.proc = None
    except subprocess.TimeoutExpired:
        rc = None
    text = _tail(log_path, 1000000)
    t.check(rc == 0, "SIGTERM stops it with exit 0 within TimeoutStopSec=%d (%.1f s)"
            % (stop_s, time.time() - t0), (rc, text[-1500:]))
    return text


def check_log(t, text, port, db):
    msgs, bad = [], []
    for line in text.splitlines():
        try:
            msgs.append(json.loads(line).get("msg", ""))
        except ValueError:
            bad.append(line)
    t.check(not bad and msgs, "--log-format json from KLANTSTEM_OPTS: every log line is a JSON object",
            bad[:5])
    joined = "\n".join(msgs)
    t.check("listening on http://127.0.0.1:%d (database %s)" % (port, db) in joined,
            "the log names the address and the database in the state directory", joined[-1500:])
    t.check("(files from /usr/share/klantstem/web)" in joined, "the log: web UI files from "
            "/usr/share/klantstem/web", joined[-1500:])
    t.check("text analysis off" not in joined and "not a folder" not in joined and "rror" not in joined,
            "the log has no 'text analysis off', no missing web root, no error", joined[-1500:])
    t.check("stopped cleanly" in joined, "the log ends with 'stopped cleanly'", joined[-500:])


def check_state(t, state_dir, db):
    """What the stopped service left in its state directory."""
    uid = pwd.getpwnam(RUN_AS).pw_uid
    t.eq(sorted(os.listdir(state_dir)), ["ks.db"],
         "after the stop the state directory holds ks.db alone (WAL checkpointed and removed)")
    st_db = os.stat(db)
    t.eq((st_db.st_uid, st_db.st_mode & 0o777), (uid, 0o600), "ks.db belongs to %s, mode 0600 (UMask=0077)" % RUN_AS)
    conn = sqlite3.connect("file:%s?immutable=1" % db, uri=True)
    try:
        ver = conn.execute("PRAGMA user_version").fetchone()[0]
        counts = {tb: conn.execute("SELECT count(*) FROM %s" % tb).fetchone()[0]
                  for tb in ("responses", "customers", "contacts", "employees", "invitations")}
        users = [r[0] for r in conn.execute("SELECT email FROM users")]
    finally:
        conn.close()
    t.eq(ver, ks.schema_version(), "the service created the database at the tree's schema version")
    t.eq(counts, {"responses": 0, "customers": 0, "contacts": 0, "employees": 0, "invitations": 0},
         "the database is empty: no demo data")
    t.eq(users, [ADMIN_EMAIL], "its one user is the admin added above")


def run_emulated(t, st, secs, port, mport):
    """Start ExecStart= as the unit would (no systemd as PID 1), check it,
    stop it; returns the database path or None."""
    state_root, state_dir = make_state_dir(st)
    env = service_env(secs, state_root, state_dir, {})
    argv = service_argv(t, secs, env, state_dir, port, mport, st.sink.port)
    db = os.path.join(state_dir, "ks.db")
    trace = os.path.join(st.tmp, "trace") if shutil.which("strace") else None
    log_path = os.path.join(st.tmp, "server.log")
    pid = start_service(t, st, argv, env, port, trace, log_path)
    if pid is None:
        return None
    check_serving(t, port, mport)
    token = check_first_admin(t, port, db)
    check_mail(t, port, token, st.sink)
    check_text_data(t, env)
    text = stop_service(t, st, secs, pid, log_path)
    check_log(t, text, port, db)
    check_state(t, state_dir, db)
    if trace:
        check_trace(t, trace, secs, state_dir)
    else:
        t.n += 1
        print("ok %d # skip strace is not installed: the sandbox's system calls are not checked" % t.n)
    return db


def run_systemd(t, secs, port, mport):
    """systemd is PID 1: the real service."""
    rc, out, err = sh(["systemctl", "restart", "klantstem.service"], timeout=90)
    t.check(rc == 0, "systemctl restart klantstem", out + err)
    t.check(wait_health(port) == 200, "the service answers /healthz 200 on 127.0.0.1:%d" % port)
    code, _, body = http_get(port, "/readyz")
    t.eq(code, 200, "/readyz 200")
    code, _, body = http_get(mport, "/metrics")
    t.eq(code, 200, "--metrics-listen from KLANTSTEM_OPTS: /metrics 200")
    rc, out, err = sh(["systemctl", "stop", "klantstem.service"], timeout=90)
    t.check(rc == 0, "systemctl stop klantstem", out + err)
    rc, out, _ = sh(["systemctl", "show", "-p", "ExecMainStatus", "--value", "klantstem.service"])
    t.eq(out.strip(), "0", "the server exited 0 on SIGTERM")
    return os.path.join(STATE_LINK, "ks.db")


def remove_and_purge(t, st, listed, db_path):
    files = [p for p in listed if os.path.isfile(p) and not os.path.islink(p)]
    # where DynamicUser keeps the state: systemd's layout, made by hand when
    # no systemd ran the service
    if not os.path.exists(STATE_PRIVATE):
        if not os.path.isdir("/var/lib/private"):
            os.makedirs("/var/lib/private", mode=0o700)
            st.made_private = True
        os.makedirs(STATE_PRIVATE, mode=0o700)
        shutil.copy2(db_path, os.path.join(STATE_PRIVATE, "ks.db"))
        os.symlink("private/klantstem", STATE_LINK)
    rc, out, err = sh(["dpkg", "-r", PKG], timeout=300)
    t.check(rc == 0, "dpkg -r klantstem", out + err)
    rc, out, _ = sh(["dpkg-query", "-W", "-f=${Status}", PKG])
    t.eq(out, "deinstall ok config-files", "after dpkg -r only the settings are left")
    gone = [p for p in files if p != ENV_FILE and os.path.lexists(p)]
    t.check(not gone, "dpkg -r removed every file of the package but the conffile (%d)" % (len(files) - 1),
            gone[:10])
    t.check(os.path.isfile(ENV_FILE), "dpkg -r keeps %s (a conffile)" % ENV_FILE)
    t.check(os.path.isfile(os.path.join(STATE_LINK, "ks.db")), "dpkg -r keeps the database in %s" % STATE_LINK)
    rc, out, err = sh(["dpkg", "-P", PKG], timeout=300)
    t.check(rc == 0, "dpkg -P klantstem", out + err)
    st.installed = False
    rc, out, _ = sh(["dpkg-query", "-W", "-f=${db:Status-Status}", PKG])
    t.check(out.strip() in ("", "not-installed"), "after dpkg -P dpkg knows no klantstem", out)
    left = [p for p in files + [ENV_FILE, STATE_PRIVATE, STATE_LINK, "/usr/share/klantstem",
                                "/usr/share/doc/klantstem"] if os.path.lexists(p)]
    t.check(not left, "dpkg -P leaves no file behind: package files, settings, %s and %s"
            % (STATE_LINK, STATE_PRIVATE), left)


def cleanup(st):
    if st.sink is not None:
        st.sink.cleanup()
    if st.proc is not None and st.proc.poll() is None:
        try:
            os.killpg(st.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        st.proc.wait()
    if st.installed:
        sh(["dpkg", "-P", PKG], timeout=300)
    # none of these existed before (preflight): whatever is there is ours
    if os.path.islink(STATE_LINK):
        os.unlink(STATE_LINK)
    shutil.rmtree(STATE_LINK, ignore_errors=True)
    shutil.rmtree(STATE_PRIVATE, ignore_errors=True)
    if os.path.exists(ENV_FILE):
        os.unlink(ENV_FILE)
    if st.made_private:
        try:
            os.rmdir("/var/lib/private")
        except OSError:
            pass
    shutil.rmtree(st.tmp, ignore_errors=True)


def _tail(path, n=3000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def take_lock(t):
    """One package test per machine at a time (it installs a system package)."""
    import fcntl
    f = open("/run/lock/klantstem-test-package.lock" if os.path.isdir("/run/lock")
             else "/tmp/klantstem-test-package.lock", "w")
    deadline = time.time() + 600
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except OSError:
            if time.time() > deadline:
                t.check(False, "another test_package run held the lock for 10 minutes")
                return None
            time.sleep(1)


def main(t):
    # tests/run's timeout sends SIGTERM: run the cleanup (finally) first
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    lock = take_lock(t) if os.geteuid() == 0 else True  # held until main returns
    if lock is None:
        return
    if not preflight(t):
        return
    version = ks_version()
    st = State()
    try:
        deb = build_deb(t, st)
        if deb is None:
            return
        fields = check_deb(t, deb, version)
        if not os.environ.get("KS_DEB"):
            check_make_install(t, st)
        old = older_deb(t, st, deb, version)
        if old is None:
            return
        # the administrator's settings: another port (8080 may be taken),
        # metrics and JSON logs through KLANTSTEM_OPTS
        port, mport = ks.free_port(), ks.free_port()
        st.sink = smtp_sink.Sink()
        st.sink.start()
        settings = ('KLANTSTEM_LISTEN=127.0.0.1:%d\nKLANTSTEM_OPTS="--metrics-listen 127.0.0.1:%d '
                    '--log-format json --smtp smtp://localhost:%d"\n' % (port, mport, st.sink.port))
        install_older(t, st, old, version, settings)
        listed = install(t, st, deb, version, settings)
        check_depends(t, fields)
        secs, _ = check_unit(t, version)
        if os.path.isdir("/run/systemd/system"):
            db_path = run_systemd(t, secs, port, mport)
        else:
            print("# systemd is not PID 1 here: ExecStart= runs as the unit would, as %s" % RUN_AS, flush=True)
            db_path = run_emulated(t, st, secs, port, mport)
        if db_path:
            remove_and_purge(t, st, listed, db_path)
    finally:
        cleanup(st)


if __name__ == "__main__":
    ks.run(main, start_server=False)
