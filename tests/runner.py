"""tests/runner.py — the engine of tests/run: run the test programs side by
side and add up their TAP results (standard library only; tests/run says
which programs, which must run alone, and documents the environment).

Each program runs in a process group of its own (so that a server or a
browser it started ends with it), with stdin from /dev/null and stdout and
stderr into one file of its own. When it ends, its whole output is printed
at once, between "# ---- NAME" and "# ---- NAME: S s" lines, in the order
the programs END (completion order: the log shows progress as it happens,
and no finished program waits behind a slow one to be shown). Counting is
the one of the former sh runner: every line starting with "ok" or "not ok"
(followed by white space or the end of the line) counts; a program that
exits non-zero, times out or prints no result line counts as one failure
more.

Programs named in KS_TEST_SERIAL run alone, one after another, before the
others: nothing else runs beside them (timing-sensitive tests). The others
run KS_TEST_JOBS at a time, the longest first: each program's duration is
kept in build/.test-times.json for the next run (without it: those named in
KS_TEST_FIRST in that order, then browser tests, fuzzing, API and unit
tests). fuzz/run takes as many
of the KS_TEST_JOBS places as it runs harnesses at once (KS_FUZZ_JOBS,
default 2), since each harness keeps a core busy.

The end: the failures, the slowest programs with their seconds, the wall
time, and last "N passed, M failed". Exit status 0 only when M is 0; 130
on SIGINT/SIGTERM, after every running program's process group was ended.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

OK_RE = re.compile(rb"ok(?:[ \t\n\v\f\r]|$)")
NOT_OK_RE = re.compile(rb"not ok(?:[ \t\n\v\f\r]|$)")
GRACE_S = 10.0      # after SIGTERM, before SIGKILL
SLOWEST = 15        # programs in the recap of durations


class Program:
    def __init__(self, name, argv, cwd, env=None, weight=1, kind="api"):
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = env or {}
        self.weight = weight
        self.kind = kind
        self.serial = False
        self.proc = None
        self.out_path = None
        self.tmp = None
        self.started = 0.0
        self.deadline = 0.0
        self.kill_at = None
        self.timed_out = False
        self.cpu = 0.0


def pg_only(root, name):
    """issue 18: a test file whose first lines say "ks-test: pg-only"."""
    if not name.startswith(("tests/api/", "tests/browser/")):
        return False
    try:
        with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
            head = "".join(f.readline() for _ in range(30))
    except OSError:
        return False
    return "ks-test: pg-only" in head


def word_list(text):
    """The names in a list given in the environment: one or more per line,
    "#" starts a comment (the reason a test is in the list)."""
    names = []
    for line in (text or "").splitlines():
        names.extend(line.split("#", 1)[0].split())
    return names


def base_name(name):
    """The program's path without the pass it runs in ("NAME [pg]")."""
    return name[:-5] if name.endswith(" [pg]") else name


def abspath(here, p):
    return p if os.path.isabs(p) else os.path.join(here, p)


def wanted(name):
    return os.environ.get("KS_TEST_FILTER", "") in name


class Runner:
    def __init__(self, root, here):
        self.root = root
        self.here = here
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.durations = {}
        self.cpu = {}
        self.running = []
        self.tmp = tempfile.mkdtemp(prefix="ks-tests.")
        self.timeout_s = float(os.environ.get("KS_TEST_TIMEOUT", "900") or 900)
        self.jobs = self.job_count()
        self.times_path = os.path.join(root, "build", ".test-times.json")
        self.seq = 0

    @staticmethod
    def job_count():
        v = os.environ.get("KS_TEST_JOBS", "")
        try:
            n = int(v)
        except ValueError:
            n = 0
        if n < 1:
            # Two per core: a test program waits on its server, sleeps or
            # sockets for much of its time (measured: ~0.6 of a core each).
            n = max(2, 2 * (os.cpu_count() or 1))
        return n

    def out(self, text):
        sys.stdout.write(text)
        sys.stdout.flush()

    def note_failure(self, line):
        self.failures.append(line)

    # -- the program list ---------------------------------------------------
    def programs(self):
        progs = []
        for b in (os.environ.get("KS_UNIT_BINS") or "").split():
            if not wanted(b):
                continue
            abs_b = abspath(self.here, b)
            if not os.access(abs_b, os.X_OK):
                self.failed += 1
                self.out("# FAIL %s: not built\n" % b)
                self.note_failure("%s: not built" % b)
                continue
            asan = os.environ.get("ASAN_OPTIONS")
            ubsan = os.environ.get("UBSAN_OPTIONS")
            env = {"CMOCKA_MESSAGE_OUTPUT": "TAP",
                   "ASAN_OPTIONS": "detect_leaks=1" + (":" + asan if asan else ""),
                   "UBSAN_OPTIONS": "print_stacktrace=1" + (":" + ubsan if ubsan else "")}
            progs.append(Program(b, [abs_b], self.here, env, kind="unit"))
        fuzz = (os.environ.get("KS_FUZZ_BINS") or "").split()
        if fuzz and wanted("fuzz/run"):
            try:
                w = max(1, int(os.environ.get("KS_FUZZ_JOBS", "2")))
            except ValueError:
                w = 1
            progs.append(Program("fuzz/run", ["sh", os.path.join(self.root, "fuzz/run")] + fuzz,
                                 self.here, weight=w, kind="fuzz"))
        api_dir = os.path.join(self.root, "tests", "api")
        for f in sorted(os.listdir(api_dir)) if os.path.isdir(api_dir) else []:
            name = "tests/api/" + f
            if f.startswith("test_") and f.endswith(".py") and wanted(name):
                progs.append(Program(name, ["/usr/bin/python3", name], self.root, kind="api"))
        # issue 18 (PKG): the Debian package, built, installed, started and
        # purged (needs root; tests/pkg/test_package.py says why)
        pkg_dir = os.path.join(self.root, "tests", "pkg")
        for f in sorted(os.listdir(pkg_dir)) if os.path.isdir(pkg_dir) else []:
            name = "tests/pkg/" + f
            if f.startswith("test_") and f.endswith(".py") and wanted(name):
                progs.append(Program(name, ["/usr/bin/python3", name], self.root, kind="api"))
        # end issue 18 (PKG)
        for name in word_list(os.environ.get("KS_TEST_BROWSER")):
            if os.path.exists(os.path.join(self.root, name)) and wanted(name):
                progs.append(Program(name, ["node", name], self.root, kind="browser"))
        # The PostgreSQL pass (issue 18): with KS_TEST_PG_URI set (a server
        # the tests may make databases on), every API and browser test runs
        # a second time with KS_PG_URI set to it, named "NAME [pg]".
        pg = os.environ.get("KS_TEST_PG_URI")
        if pg:
            # issue 18 (lead): the PostgreSQL pass runs the programs of
            # KS_TEST_PG (those that pass there today; tests/run lists
            # them) and every program marked "ks-test: pg-only", which runs
            # in that pass only. Without KS_TEST_PG_URI a pg-only program
            # runs like any other and fails, saying why.
            pg_list = set(word_list(os.environ.get("KS_TEST_PG")))
            both = []
            for p in progs:
                only_pg = pg_only(self.root, p.name)
                if not only_pg:
                    both.append(p)
                if only_pg or p.name in pg_list:
                    both.append(Program(p.name + " [pg]", p.argv, p.cwd, dict(p.env, KS_PG_URI=pg),
                                        p.weight, p.kind))
            progs = both
        unit_pg = os.environ.get("KS_TEST_UNIT_PG_URI")
        if unit_pg:
            for p in progs:
                if p.kind == "unit":
                    p.env["KS_PG_URI"] = unit_pg
        serial = set(word_list(os.environ.get("KS_TEST_SERIAL")))
        for p in progs:
            p.serial = base_name(p.name) in serial
            p.weight = min(p.weight, self.jobs)
        return progs

    def load_times(self):
        try:
            with open(self.times_path) as f:
                t = json.load(f)
            return t if isinstance(t, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_times(self):
        if not self.durations:
            return
        t = self.load_times()
        t.update(self.durations)
        try:
            os.makedirs(os.path.dirname(self.times_path), exist_ok=True)
            tmp = "%s.%d" % (self.times_path, os.getpid())
            with open(tmp, "w") as f:
                json.dump(t, f, indent=0, sort_keys=True)
            os.replace(tmp, self.times_path)
        except OSError:
            pass  # only a hint for the next run's order

    def order(self, progs):
        """Serial ones first (in list order), then the longest first."""
        known = self.load_times()
        guess = {"browser": 60.0, "fuzz": 60.0, "api": 20.0, "unit": 1.0}
        # The long ones tests/run names (for a first run without times):
        # 1000 s, 999 s ... in the order of the list.
        # A unit binary is named by the end of its path (tests/test_demo).
        first = word_list(os.environ.get("KS_TEST_FIRST"))
        for p in progs:
            for i, name in enumerate(first):
                if base_name(p.name) == name or base_name(p.name).endswith("/" + name):
                    guess[p.name] = 1000.0 - i
                    break
        serial = [p for p in progs if p.serial]
        par = [p for p in progs if not p.serial]

        def expected(p):
            try:
                secs = float(known[p.name])
            except (KeyError, TypeError, ValueError):
                secs = guess.get(p.name, guess[p.kind])
            return secs * p.weight
        par.sort(key=lambda p: -expected(p))
        return serial, par

    # -- running ------------------------------------------------------------
    def start(self, p):
        self.seq += 1
        p.tmp = os.path.join(self.tmp, "p%d" % self.seq)
        os.mkdir(p.tmp)
        p.out_path = os.path.join(p.tmp, "output")
        env = dict(os.environ)
        env.update(p.env)
        # Each program's temporary files in a folder of its own, removed at
        # the end even when the program leaves some behind.
        env["TMPDIR"] = p.tmp
        with open(p.out_path, "wb") as out, open(os.devnull, "rb") as devnull:
            try:
                p.proc = subprocess.Popen(p.argv, cwd=p.cwd, env=env, stdin=devnull,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
            except OSError as e:
                out.write(("cannot start: %s\n" % e).encode())
                p.proc = None
        p.started = time.monotonic()
        p.deadline = p.started + self.timeout_s
        self.running.append(p)

    @staticmethod
    def signal_group(p, sig):
        if p.proc is None:
            return False
        try:
            os.killpg(p.proc.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def finish(self, p, rc):
        """The program has ended with status rc: show its output, count."""
        self.running.remove(p)
        secs = time.monotonic() - p.started
        # Whatever it left running in its group (a server, a browser) ends now.
        leftover = self.signal_group(p, signal.SIGTERM)
        if leftover:
            time.sleep(0.2)
            self.signal_group(p, signal.SIGKILL)
        try:
            with open(p.out_path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        lines = data.split(b"\n")
        n_ok = sum(1 for ln in lines if OK_RE.match(ln))
        notok = [ln for ln in lines if NOT_OK_RE.match(ln)]
        self.passed += n_ok
        self.failed += len(notok)
        for ln in notok:
            self.note_failure("%s: %s" % (p.name, ln.decode("utf-8", "replace")))
        why = ""
        if p.timed_out:
            why = "timed out after %gs" % self.timeout_s
        elif rc != 0:
            why = "exited with status %d" % rc
        elif n_ok + len(notok) == 0:
            why = "printed no test results"
        sys.stdout.write("# ---- %s\n" % p.name)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        if data and not data.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
        sys.stdout.buffer.flush()
        if leftover:
            self.out("# %s left processes running; they were ended\n" % p.name)
        if why:
            self.failed += 1
            self.out("# FAIL %s: %s\n" % (p.name, why))
            self.note_failure("%s: %s" % (p.name, why))
        self.out("# ---- %s: %.1f s (cpu %.1f s)\n" % (p.name, secs, p.cpu))
        self.durations[p.name] = round(secs, 1)
        self.cpu[p.name] = p.cpu
        shutil.rmtree(p.tmp, ignore_errors=True)

    def reap(self):
        """Wait a little for a running program to end; handle timeouts."""
        now = time.monotonic()
        for p in list(self.running):
            if p.proc is None:
                self.finish(p, 127)
                continue
            rc = self.poll(p)
            if rc is not None:
                self.finish(p, 124 if p.timed_out else rc)
                continue
            if not p.timed_out and now >= p.deadline:
                p.timed_out = True
                p.kill_at = now + GRACE_S
                self.signal_group(p, signal.SIGTERM)
            elif p.kill_at is not None and now >= p.kill_at:
                self.signal_group(p, signal.SIGKILL)
                p.kill_at = None
        if self.running:
            time.sleep(0.05)

    @staticmethod
    def poll(p):
        """The exit status (128 + N for signal N) once p has ended, else
        None; keeps the CPU seconds it and the children it waited for used."""
        try:
            pid, status, ru = os.wait4(p.proc.pid, os.WNOHANG)
        except ChildProcessError:
            return p.proc.returncode if p.proc.returncode is not None else 1
        if pid == 0:
            return None
        p.cpu = ru.ru_utime + ru.ru_stime
        rc = os.waitstatus_to_exitcode(status)
        p.proc.returncode = rc
        return rc if rc >= 0 else 128 - rc

    def busy(self):
        return sum(p.weight for p in self.running)

    def run_all(self, serial, par):
        for p in serial:
            self.start(p)
            while self.running:
                self.reap()
        queue = list(par)
        while queue or self.running:
            while queue:
                # The first in the queue that fits; a program that needs more
                # places than are free waits only while others run.
                fit = next((p for p in queue if self.busy() + p.weight <= self.jobs), None)
                if fit is None:
                    break
                queue.remove(fit)
                self.start(fit)
            self.reap()

    def end_running(self):
        """SIGTERM to every running program's group, SIGKILL 5 s later."""
        for p in self.running:
            self.signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(
                p.proc is not None and p.proc.poll() is None for p in self.running):
            time.sleep(0.05)
        for p in self.running:
            self.signal_group(p, signal.SIGKILL)

    def interrupted(self, signum, frame):
        self.end_running()
        shutil.rmtree(self.tmp, ignore_errors=True)
        os._exit(130)

    def recap(self, wall):
        if self.failed:
            self.out("# failures:\n" + "".join("  %s\n" % f for f in self.failures))
        slow = sorted(self.durations.items(), key=lambda kv: -kv[1])[:SLOWEST]
        if slow:
            self.out("# slowest programs (seconds):\n")
            self.out("#      wall      cpu\n")
            for name, s in slow:
                self.out("#   %7.1f  %7.1f  %s\n" % (s, self.cpu.get(name, 0.0), name))
        self.out("# %d programs in %.0f s wall time (%.0f s of cpu), up to %d at a time\n"
                 % (len(self.durations), wall, sum(self.cpu.values()), self.jobs))
        self.out("%d passed, %d failed\n" % (self.passed, self.failed))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    here = os.getcwd()
    r = Runner(root, here)
    signal.signal(signal.SIGINT, r.interrupted)
    signal.signal(signal.SIGTERM, r.interrupted)
    if os.environ.get("KS_BIN"):
        os.environ["KS_BIN"] = abspath(here, os.environ["KS_BIN"])
    started = time.monotonic()
    try:
        serial, par = r.order(r.programs())
        r.run_all(serial, par)
    finally:
        # Normally none; after an error of the runner's own (a closed
        # stdout, a bug) no program is left running.
        r.end_running()
        r.save_times()
        shutil.rmtree(r.tmp, ignore_errors=True)
    r.recap(time.monotonic() - started)
    return 0 if r.failed == 0 else 1


def main_quiet_on_closed_stdout():
    try:
        return main()
    except BrokenPipeError:  # the reader went away (| head): say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main_quiet_on_closed_stdout())
