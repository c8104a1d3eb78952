"""Runs a command line through the real etcdctl and through kvctl, and the
normalizations the comparison tests share (see test_kvctl_matches_etcdctl.py
for what is normalized and why).

    want, got = both(["--endpoints", ep, "get", "a"])
    assert_same(["--endpoints", ep, "endpoint", "health"], normalize=without_durations)
"""

import os
import re
import subprocess
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
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ETCDCTL_", "KVCTL_"))}
    if tool == "etcdctl":
        e["ETCDCTL_API"] = "3"
    e.update(env or {})
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
