"""Runs a command line through the real etcdctl and through kvctl, and the
normalizations the comparison tests share (see test_kvctl_matches_etcdctl.py
for what is normalized and why).

    want, got = both(["--endpoints", ep, "get", "a"])
    assert_same(["--endpoints", ep, "endpoint", "health"], normalize=without_durations)
"""

import os
import re
import subprocess
import threading
from collections import namedtuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

ETCDCTL = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")
KVCTL = os.environ.get("KVCTL_BIN", os.path.join(REPO, "build", "cmd", "kvctl", "kvctl"))
FORMATS = ["simple", "json", "fields", "protobuf", "table"]
TOOLS = ["etcdctl", "kvctl"]

Run = namedtuple("Run", "code out err")

GO_CLIENT_LOG = re.compile(rb'^\{"level":"warn".*\n', re.M)
DURATION = re.compile(rb"\d+(\.\d+)?(ns|\xc2\xb5s|ms|s|m|h)(\d+(\.\d+)?(ms|s|m))*")
CAPNSLOG_PREFIX = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} . \| ", re.M)


def run(tool, args, input=None, env=None):
    """Runs etcdctl or kvctl with a clean ETCDCTL_*/KVCTL_* environment."""
    e = tool_env(tool, env)
    binary = ETCDCTL if tool == "etcdctl" else KVCTL
    if isinstance(input, str):
        input = input.encode()
    p = subprocess.run([binary] + list(args), input=input if input is not None else b"",
                       capture_output=True, env=e, timeout=60)
    return Run(p.returncode, p.stdout, GO_CLIENT_LOG.sub(b"", p.stderr))


def both(args, input=None, env=None):
    return run("etcdctl", args, input, env), run("kvctl", args, input, env)


def assert_same(args, input=None, env=None, normalize=None):
    want, got = both(args, input, env)
    if normalize:
        want, got = normalize(want), normalize(got)
    assert got == want, "kvctl %s" % " ".join(args)


def collapse_padding(out):
    """Table borders and padding collapsed, for tables whose cell widths
    follow a normalized value."""
    return re.sub(rb"-+", b"-", re.sub(rb" +", b" ", out))


def without_durations(r):
    """Durations replaced, and table borders and padding collapsed with them."""
    return Run(r.code, collapse_padding(DURATION.sub(b"D", r.out)), DURATION.sub(b"D", r.err))


DB_SIZES = [(re.compile(rb"\d+(\.\d+)? (B|kB|MB|GB)"), b"S"),
            (re.compile(rb'"(dbSize|dbSizeInUse)":\d+'), rb'"\1":S'),
            (re.compile(rb'"DBSize" : \d+'), b'"DBSize" : S')]


def without_db_sizes(r):
    """Backend sizes depend on when the backend last committed (every 100 ms),
    not on the client; they are replaced, with table padding collapsed."""
    out = r.out
    for pattern, replacement in DB_SIZES:
        out = pattern.sub(replacement, out)
    return Run(r.code, collapse_padding(out), r.err)


def first_error_line(r):
    """For command lines that do not parse: etcdctl prints its usage and the
    error twice, kvctl the error once."""
    lines = r.err.splitlines()
    line = lines[0] if lines else b""
    return Run(r.code, b"", line.replace(b'"etcdctl"', b'"kvctl"'))


# ---- long-running commands (watch, lease keep-alive, lock, elect)


def tool_env(tool, env=None):
    """The environment run() gives a tool."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ETCDCTL_", "KVCTL_"))}
    if tool == "etcdctl":
        e["ETCDCTL_API"] = "3"
    e.update(env or {})
    return e


class Background:
    """etcdctl or kvctl running in the background; its stdout and stderr are
    collected as bytes by reader threads, so a test waits for output with a
    deadline instead of sleeping.

        with Background("kvctl", ["watch", "k"]) as p:
            p.wait_for(lambda out: out.endswith(b"v\\n"))
            p.signal(signal.SIGINT)
            run = p.finish()          # Run(code, out, err)
    """

    def __init__(self, tool, args, env=None, stdin=False, timeout=30.0):
        binary = ETCDCTL if tool == "etcdctl" else KVCTL
        self.argv = [binary] + list(args)
        self.timeout = timeout
        self.proc = subprocess.Popen(self.argv,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=tool_env(tool, env))
        self.out = b""
        self.err = b""
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, "out"),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, "err"),
                                          daemon=True)]
        for t in self._readers:
            t.start()

    def _read(self, stream, name):
        while True:
            chunk = stream.read1(65536)
            with self._cond:
                if chunk:
                    setattr(self, name, getattr(self, name) + chunk)
                self._cond.notify_all()
            if not chunk:
                return

    def wait_for(self, predicate, what="output", timeout=None):
        """Waits until predicate(stdout bytes) holds; fails after `timeout`
        seconds or when the process ends first."""
        timeout = self.timeout if timeout is None else timeout
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.out) or self.proc.poll() is not None,
                                     timeout)
            if ok and predicate(self.out):
                return
        raise AssertionError("%s: no %s within %.0fs (code %s)\nstdout: %r\nstderr: %r" % (
            " ".join(self.argv), what, timeout, self.proc.poll(), self.out, self.err))

    def write(self, data):
        self.proc.stdin.write(data.encode() if isinstance(data, str) else data)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def finish(self, timeout=None):
        """Waits for the exit; returns Run(code, stdout, stderr), the Go
        client's JSON log lines dropped from stderr."""
        code = self.proc.wait(self.timeout if timeout is None else timeout)
        for t in self._readers:
            t.join(10)
        return Run(code, self.out, GO_CLIENT_LOG.sub(b"", self.err))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def varint(n):
    """Protobuf's varint encoding of a non-negative integer."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def lease_forms(lease_id):
    """Every way etcdctl prints a lease id: "%016x" (lease commands), "%x"
    (lock and election keys), decimal (json, fields) and a protobuf varint."""
    return [b"%016x" % lease_id, b"%x" % lease_id, b"%d" % lease_id, varint(lease_id)]


def with_lease_ids(runs, lease_ids):
    """Lease ids are chosen by the server and differ between the two
    servers a sequence runs on; each one is replaced by <L0>, <L1>, ... in
    the order it first appears in the outputs, so that two runs compare
    equal when they print the same leases in the same places."""
    names = {}
    found = []
    for r in runs:
        for stream in (r.out, r.err):
            hits = []
            for lease_id in lease_ids:
                for form in lease_forms(lease_id):
                    pos = stream.find(form)
                    if pos >= 0:
                        hits.append((pos, lease_id))
            for _, lease_id in sorted(hits):
                if lease_id not in names:
                    names[lease_id] = b"<L%d>" % len(names)
                    found.append(lease_id)

    def clean(data):
        # Longest forms first, so that "%016x" is not eaten by "%x".
        for lease_id in found:
            forms = sorted(set(lease_forms(lease_id)), key=len, reverse=True)
            for form in forms:
                if form.isdigit():
                    data = re.sub(rb"(?<!\d)%s(?!\d)" % form, names[lease_id], data)
                else:
                    data = data.replace(form, names[lease_id])
        return data

    return [Run(r.code, clean(r.out), clean(r.err)) for r in runs]
