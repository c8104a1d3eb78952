"""kvctl's watch, lease, lock and elect print what etcdctl 3.4 prints, byte
for byte, and exit with the same codes.

Every case runs the same command line through the real etcdctl
(ETCDCTL_API=3) and through kvctl and compares stdout, stderr and the exit
code (a negative code is the signal that ended the process):

  - watch: one shared server holds a fixed history (compacted at revision 3);
    watches start from a revision, so no event depends on when the watch was
    created. A running watch is read until its last event (the put of w/z =
    END) has been printed, then interrupted with SIGINT, which ends both
    tools at once.
  - lease, lock and elect change the server: each sequence runs on two fresh
    servers started one after the other on the same ports (same member and
    cluster ids, same revisions), one driven by etcdctl and one by kvctl.
    Long-running commands (keep-alive, lock, elect) run in the background
    and are read until they have printed what the step waits for.

The server is $ETCDD_BIN (tests/support/etcdd_harness.py); with
ETCDD_BIN=/usr/bin/etcd the suite checks kvctl against real etcd.

Normalized, never hidden:
  - lease ids are chosen by the server: each is replaced by <L0>, <L1>, ...
    in order of first appearance (kvctl_compare.with_lease_ids);
  - a lease's remaining TTL (timetolive) depends on the second it is asked;
  - etcdctl's Go client logs JSON "retrying" lines on stderr before server
    errors; for command lines that do not parse etcdctl prints its usage
    (kvctl_compare.first_error_line).
"""

import base64
import os
import re
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
sys.path.insert(0, HERE)
pytest.register_assert_rewrite("kvctl_compare")

from etcd_rpc import Client, prefix_end, wait_until  # noqa: E402
from etcdd_harness import Server, free_port  # noqa: E402
from kvctl_compare import (FORMATS, TOOLS, Background, Run, assert_same,  # noqa: E402
                           first_error_line, run, with_lease_ids)

STREAM_FORMATS = ["simple", "json", "fields", "protobuf"]  # table fails at the first result


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s)


def printed(fmt, value):
    """A predicate on stdout: a key-value with `value` has been printed in
    full, in a watch response or a range response (the last thing printed).
    Go prints json and protobuf results in one write, simple and fields one
    line at a time."""
    v = value.encode()
    if fmt == "simple":
        return lambda out: out.endswith(b"\n" + v + b"\n")
    if fmt == "json":
        return lambda out: b64(v) in out and out.endswith(b"\n")
    if fmt == "fields":
        pattern = re.compile(rb'"Value" : "%s"\n"Lease" : \d+\n("More" : \w+\n"Count" : \d+\n)?$'
                             % re.escape(v))
        return lambda out: pattern.search(out) is not None
    return lambda out: v in out


def lease_ids(endpoint):
    with Client(endpoint) as c:
        return c.leases()


def keys_under(endpoint, prefix):
    with Client(endpoint) as c:
        return len(c.get(prefix, prefix_end(prefix)).kvs)


JSON_KEY = re.compile(rb'"key":"([A-Za-z0-9+/=]*)"')


def with_json_keys_decoded(r):
    """Lock and election keys end in the session's lease id, which json
    prints inside a base64 key; decoded, with_lease_ids can replace it."""
    def decode(m):
        return b'"key":"%s"' % base64.b64decode(m.group(1))
    return Run(r.code, JSON_KEY.sub(decode, r.out), r.err)


def sequence_on_fresh_servers(tmp_path, scenario):
    """Runs scenario(tool, endpoint) -> [Run] on a fresh server per tool, on
    the same ports; returns (etcdctl's runs, kvctl's runs) with lease ids
    normalized. Leases still alive at the end are the ones normalized."""
    client_port, peer_port = free_port(), free_port()
    results = []
    for tool in TOOLS:
        with Server(tmp_path / tool, client_port=client_port, peer_port=peer_port) as s:
            runs = [with_json_keys_decoded(r) for r in scenario(tool, s.endpoint)]
            results.append(with_lease_ids(runs, lease_ids(s.endpoint) + scenario.extra_ids))
    return results


def assert_runs_equal(want, got, steps):
    assert len(want) == len(got)
    for step, w, g in zip(steps, want, got):
        assert g == w, "kvctl %s" % step


# ---- watch: the shared server

WATCH_HISTORY = [  # revision: operation
    ("old/1", "a"),               # 2
    ("old/2", "b"),               # 3, compacted up to here
    ("w/a", "1"),                 # 4
    ("w/b", "2"),                 # 5
    ("w/a", "3"),                 # 6
    ("w/a", None),                # 7, delete
    ("x", "9"),                   # 8, outside w/
    ("w/bin", b"\x00\xff\n\""),   # 9
    ("w/uni", "h\u00e9llo \"q\" <b>&\t"),  # 10
    ("w/z", "END"),               # 11, the last event every watch below sees
]
LAST_REVISION = 11


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("watch")) as s:
        with Client(s.endpoint) as c:
            for key, value in WATCH_HISTORY:
                if value is None:
                    c.delete(key)
                else:
                    c.put(key, value)
            c.compact(3)
        yield s.endpoint


def compare_watch(endpoint, fmt, args, env=None, done=None):
    """Runs a watch through both tools until `done` (default: END printed),
    interrupts it, and compares."""
    full = ["--endpoints", endpoint, "-w", fmt] + args
    if fmt == "table":
        assert_same(full, env=env)  # fails at the first response
        return
    runs = []
    for tool in TOOLS:
        with Background(tool, full, env=env) as p:
            p.wait_for(done or printed(fmt, "END"), "END event")
            p.signal(signal.SIGINT)
            runs.append(p.finish())
    want, got = runs
    assert got == want, "kvctl " + " ".join(args)


WATCHES = [
    ["watch", "--rev", "4", "--prefix", "w/"],
    ["watch", "--prefix", "--prev-kv", "--rev", "4", "w/"],
    ["watch", "--rev", "4", "w/a", "w/zz"],
    ["watch", "--rev", "5", "w/z"],
    ["watch", "--rev", "4", "", "--prefix"],
    ["watch", "w/", "--rev=4", "--prefix"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", WATCHES, ids=" ".join)
def test_watch_history(endpoint, fmt, args):
    compare_watch(endpoint, fmt, args)


def test_watch_hex(endpoint):
    compare_watch(endpoint, "simple", ["--hex", "watch", "--rev", "4", "--prefix", "w/"],
                  done=lambda out: out.endswith(b"\\x45\\x4e\\x44\n"))


@pytest.mark.parametrize("fmt", ["simple", "json"])
def test_watch_key_from_environment(endpoint, fmt):
    env = {"ETCDCTL_WATCH_KEY": "w/", "ETCDCTL_WATCH_RANGE_END": "w/zz"}
    compare_watch(endpoint, fmt, ["watch", "--rev", "4"], env=env)


def test_kvctl_watch_key_from_kvctl_environment(endpoint):
    with Background("kvctl", ["--endpoints", endpoint, "watch", "--rev", "4"],
                    env={"KVCTL_WATCH_KEY": "w/", "KVCTL_WATCH_RANGE_END": "w/zz"}) as p:
        p.wait_for(printed("simple", "END"))
        p.signal(signal.SIGINT)
        got = p.finish()
    with Background("etcdctl", ["--endpoints", endpoint, "watch", "--rev", "4", "w/", "w/zz"]) as p:
        p.wait_for(printed("simple", "END"))
        p.signal(signal.SIGINT)
        want = p.finish()
    assert got == want


def test_kvctl_watch_accepts_progress_notify(endpoint):
    """--progress-notify is etcdctl 3.5's (3.4 rejects it): the server adds
    progress notifications to an idle watch; the events are unchanged."""
    runs = []
    for tool, extra in (("etcdctl", []), ("kvctl", ["--progress-notify"])):
        with Background(tool, ["--endpoints", endpoint, "watch", "--rev", "4", "--prefix", "w/"]
                        + extra) as p:
            p.wait_for(printed("simple", "END"))
            p.signal(signal.SIGINT)
            runs.append(p.finish())
    want, got = runs
    assert got == want


ENV_SCRIPT = 'printf "%s|%s|%s|%s\\n" "$ETCD_WATCH_REVISION" "$ETCD_WATCH_EVENT_TYPE" ' \
             '"$ETCD_WATCH_KEY" "$ETCD_WATCH_VALUE"'


@pytest.mark.parametrize("fmt", ["simple", "json"])
def test_watch_runs_a_command_per_event(endpoint, fmt):
    compare_watch(endpoint, fmt, ["watch", "--rev", "4", "--prefix", "w/", "--prev-kv", "--",
                                  "sh", "-c", ENV_SCRIPT],
                  done=lambda out: out.endswith(b'|"PUT"|"w/z"|"END"\n'))


WATCH_ENDS = [  # commands that end by themselves
    ["watch", "--rev", "4", "--prefix", "w/", "--", "false"],
    ["watch", "--rev", "4", "w/z", "--", "no-such-command-for-kvctl", "x"],
    ["watch", "--rev", "4", "w/z", "--", "/no/such/path"],
    ["watch", "--rev", "2", "--prefix", "w/"],  # compacted
    ["watch", "--rev", "1", "x"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", WATCH_ENDS, ids=" ".join)
def test_watch_ends(endpoint, fmt, args):
    assert_same(["--endpoints", endpoint, "-w", fmt] + args)


WATCH_ERRORS = [
    (["watch"], None),
    (["watch", "a", "--"], None),
    (["watch", "a", "b", "--prefix"], None),
    (["watch", "--rev", "4", "--", "echo"], None),
    (["watch", "a"], {"ETCDCTL_WATCH_KEY": "a"}),
    (["watch", "a", "--", "echo", "1"], {"ETCDCTL_WATCH_KEY": "a"}),
    (["watch", "a"], {"ETCDCTL_WATCH_RANGE_END": "b"}),
    (["-w", "yaml", "watch", "a"], None),
]


@pytest.mark.parametrize("args,env", WATCH_ERRORS, ids=lambda v: " ".join(v) if v else "")
def test_watch_errors(endpoint, args, env):
    assert_same(["--endpoints", endpoint] + args, env=env)


@pytest.mark.parametrize("args", [["watch", "--rev", "x", "a"], ["watch", "--bogus", "a"],
                                  ["watch", "a", "--rev"]], ids=" ".join)
def test_watch_parse_errors(endpoint, args):
    assert_same(["--endpoints", endpoint] + args, normalize=first_error_line)


def progress_printed(fmt):
    """The answer to "progress" has been printed in full."""
    line = b"progress notify: %d\n" % LAST_REVISION
    if fmt == "simple":
        return lambda out: out.endswith(line)
    if fmt == "json":
        return lambda out: line in out and out.endswith(b'"Created":false}\n')
    if fmt == "fields":
        pattern = re.compile(rb"%s(\"\w+\" : \d+\n){4}$" % re.escape(line))
        return lambda out: pattern.search(out) is not None
    return lambda out: line in out and not out.endswith(line)


@pytest.mark.parametrize("fmt", STREAM_FORMATS)
def test_watch_interactive(endpoint, fmt):
    runs = []
    for tool in TOOLS:
        with Background(tool, ["--endpoints", endpoint, "-w", fmt, "watch", "-i"],
                        stdin=True) as p:
            p.write("watch --rev 4 --prefix w/\n")
            p.wait_for(printed(fmt, "END"), "END event")
            p.write("progress\n")
            p.wait_for(progress_printed(fmt), "progress notification")
            p.write("\nbogus\nwatch\nwatch a b --prefix\n")
            p.write('watch --rev 5 "w/z" -- sh -c "echo ran $ETCD_WATCH_KEY"\n')
            p.wait_for(lambda out: out.endswith(b'ran "w/z"\n'), "command output")
            p.close_stdin()  # etcdctl exits 3 when stdin ends
            runs.append(p.finish())
    want, got = runs
    assert got == want


@pytest.mark.parametrize("line", ["watch --bogus a\n", "watch --rev x a\n", "watch a --\n",
                                  "watch a b c -- \n", "watch a\n"])
def test_watch_interactive_errors(endpoint, line):
    # The last line has no newline: etcdctl reads it as the end of input.
    assert_same(["--endpoints", endpoint, "watch", "-i"], input=line + "watch w/z")


def test_watch_interactive_key_from_environment(endpoint):
    """The line's key comes from the environment; a line that names a key
    too is an error that ends the program."""
    env = {"ETCDCTL_WATCH_KEY": "w/z"}
    runs = []
    for tool in TOOLS:
        with Background(tool, ["--endpoints", endpoint, "watch", "-i"], env=env, stdin=True) as p:
            p.write("watch --rev 5\n")
            p.wait_for(printed("simple", "END"))
            p.write("watch w/a\n")
            runs.append(p.finish())
    want, got = runs
    assert got == want


def test_watch_live_events(tmp_path):
    """Both tools watch the next revisions at once; then the key changes,
    with a member restart in between that the watch streams survive."""
    with Server(tmp_path) as s:
        with Client(s.endpoint) as c:
            start = c.put("live", "0").header.revision + 1
        # simple: the events alone, however the server batches them after
        # each client's reconnection.
        procs = [Background(tool, ["--endpoints", s.endpoint, "watch", "live", "--prev-kv",
                                   "--rev", str(start)]) for tool in TOOLS]
        try:
            with Client(s.endpoint) as c:
                c.put("live", "1")
            for p in procs:
                p.wait_for(printed("simple", "1"))
            s.restart()
            with Client(s.endpoint) as c:
                c.put("live", "2")
                c.delete("live")
                c.put("live", "END")
            for p in procs:
                p.wait_for(printed("simple", "END"), timeout=60)
                p.signal(signal.SIGINT)
            want, got = [p.finish() for p in procs]
        finally:
            for p in procs:
                p.__exit__()
    assert got == want
    assert got.out.count(b"DELETE\n") == 1  # the delete, once


# ---- lease


def lease_scenario(fmt):
    """Grants two leases (A: 300 s with k1, B: 200 s with k2) outside the
    comparison, then runs the lease commands on them."""
    steps = []

    def scenario(tool, endpoint):
        with Client(endpoint) as c:
            a = c.grant(300).ID
            b = c.grant(200).ID
            c.put("k1", "v1", lease=a)
            c.put("k2", "v2", lease=b)
        scenario.extra_ids = [b]  # revoked before the end
        steps[:] = [
            ["lease", "grant", "100"],
            ["lease", "timetolive", "%x" % a],
            ["lease", "timetolive", "%x" % a, "--keys"],
            ["lease", "timetolive", "%016x" % b, "--keys"],
            ["lease", "timetolive", "1234"],
            ["lease", "list"],
            ["lease", "keep-alive", "--once", "%x" % a],
            ["lease", "keep-alive", "--once", "1234"],
            ["lease", "keep-alive", "1234"],
            ["put", "k3", "v3", "--lease", "%x" % a],
            ["get", "k3"],
            ["lease", "revoke", "%x" % b],
            ["lease", "revoke", "%x" % b],
            ["lease", "timetolive", "%x" % b],
            ["get", "k", "--prefix"],
        ]
        runs = []
        for step in steps:
            r = run(tool, ["--endpoints", endpoint, "-w", fmt] + step)
            if step[:2] == ["lease", "timetolive"]:
                r = without_remaining_ttl(r)
            runs.append(r)
        return runs

    scenario.extra_ids = []
    return scenario, steps


def without_remaining_ttl(r):
    """A lease's remaining TTL depends on the second it is asked."""
    out = re.sub(rb"remaining\(\d+s\)", b"remaining(Rs)", r.out)
    out = re.sub(rb'"ttl":\d+', b'"ttl":R', out)
    out = re.sub(rb'"TTL" : \d+', b'"TTL" : R', out)
    return Run(r.code, out, r.err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lease_sequence(tmp_path, fmt):
    scenario, steps = lease_scenario(fmt)
    want, got = sequence_on_fresh_servers(tmp_path, scenario)
    assert_runs_equal(want, got, steps)


LEASE_ERRORS = [
    ["lease", "grant"],
    ["lease", "grant", "abc"],
    ["lease", "grant", "1", "2"],
    ["lease", "grant", "0x10"],
    ["lease", "revoke"],
    ["lease", "revoke", "zz"],
    ["lease", "revoke", "1234"],
    ["lease", "revoke", "ffffffffffffffff"],
    ["lease", "timetolive"],
    ["lease", "timetolive", "xyz"],
    ["lease", "keep-alive"],
    ["lease", "keep-alive", "--once", "xyz"],
    ["lease", "keep-alive", "--once", "1234"],
    ["-w", "yaml", "lease", "list"],
    ["-w", "table", "lease", "list"],
    ["-w", "table", "lease", "timetolive", "1234"],
    ["put", "k", "v", "--lease", "1234"],
]


@pytest.mark.parametrize("cmd", LEASE_ERRORS, ids=" ".join)
def test_lease_errors(endpoint, cmd):
    assert_same(["--endpoints", endpoint] + cmd)


@pytest.mark.parametrize("cmd", [["lease", "grant", "-5"], ["lease", "timetolive", "1", "--x"]],
                         ids=" ".join)
def test_lease_parse_errors(endpoint, cmd):
    assert_same(["--endpoints", endpoint] + cmd, normalize=first_error_line)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lease_keep_alive_until_revoked(tmp_path, fmt):
    """keep-alive prints each renewal; once the lease is revoked the next
    renewal (a third of the TTL later) finds it gone and the command ends."""
    def scenario(tool, endpoint):
        with Client(endpoint) as c:
            lease = c.grant(6).ID
        args = ["--endpoints", endpoint, "-w", fmt, "lease", "keep-alive", "%x" % lease]
        if fmt == "table":
            return [run(tool, args)]
        with Background(tool, args) as p:
            first = {"simple": lambda out: out.endswith(b"keepalived with TTL(6)\n"),
                     "json": lambda out: out.endswith(b"}\n"),
                     "fields": lambda out: out.endswith(b'"TTL" : 6\n'),
                     "protobuf": lambda out: len(out) > 0}[fmt]
            p.wait_for(first, "the first renewal")
            with Client(endpoint) as c:
                c.revoke(lease)
            scenario.extra_ids = [lease]
            return [p.finish()]

    scenario.extra_ids = []
    want, got = sequence_on_fresh_servers(tmp_path, scenario)
    assert got == want


# ---- lock


def lock_scenario(fmt):
    """Holding, running a command, failing command, and three contenders."""
    steps = ["lock L (held, then SIGINT)", "lock L -- sh -c (env)", "lock L -- sh -c 'exit 3'",
             "lock L (holder A)", "lock L -- echo (waiter B)", "lock L (waiter C, SIGINT)"]

    def scenario(tool, endpoint):
        base = ["--endpoints", endpoint, "-w", fmt, "lock"]
        ends = {"simple": b"\n\n", "json": b"\n", "fields": b'"Count" : 1\n'}.get(fmt)
        held = lambda out: out.endswith(ends) if ends else len(out) > 0  # noqa: E731
        if fmt == "table":
            return [run(tool, base + ["L"])]  # fails after locking; the key stays
        runs = []
        with Background(tool, base + ["L"]) as p:
            p.wait_for(held, "the lock key")
            p.signal(signal.SIGINT)
            runs.append(p.finish())
        runs.append(run(tool, base + ["L", "--", "sh", "-c",
                                      'echo "$ETCD_LOCK_KEY" "$ETCD_LOCK_REV"']))
        runs.append(run(tool, base + ["L", "--", "sh", "-c", "exit 3"]))
        with Background(tool, base + ["L"]) as a:
            a.wait_for(held, "the lock key")
            b = Background(tool, base + ["L", "--", "sh", "-c", 'echo got $ETCD_LOCK_REV'])
            wait_until(lambda: keys_under(endpoint, "L/") == 2, 20, "B waiting")
            with Background(tool, base + ["--ttl", "30", "L"]) as c:
                wait_until(lambda: keys_under(endpoint, "L/") == 3, 20, "C waiting")
                c.signal(signal.SIGINT)
                waiter = c.finish()
            wait_until(lambda: keys_under(endpoint, "L/") == 2, 20, "C gone")
            a.signal(signal.SIGINT)
            with b:
                runs += [a.finish(), b.finish(), waiter]
        return runs

    scenario.extra_ids = []
    return scenario, steps


@pytest.mark.parametrize("fmt", FORMATS)
def test_lock_sequence(tmp_path, fmt):
    scenario, steps = lock_scenario(fmt)
    want, got = sequence_on_fresh_servers(tmp_path, scenario)
    assert_runs_equal(want, got, steps)


LOCK_ERRORS = [["lock"], ["-w", "yaml", "lock", "L"],
               ["lock", "L", "--", "no-such-command-for-kvctl"],
               ["lock", "L", "--", "/no/such/path"]]


@pytest.mark.parametrize("cmd", LOCK_ERRORS, ids=" ".join)
def test_lock_errors(endpoint, cmd):
    assert_same(["--endpoints", endpoint] + cmd)


def test_lock_parse_errors(endpoint):
    assert_same(["--endpoints", endpoint, "lock", "--ttl", "x", "L"], normalize=first_error_line)
    assert_same(["--endpoints", endpoint, "lock", "L", "ls", "-l"], normalize=first_error_line)


# ---- elect


def elect_scenario(fmt):
    """An observer, a leader, a second candidate that takes over when the
    leader resigns on SIGINT."""
    steps = ["elect E p1", "elect E p2", "elect -l E"]

    def scenario(tool, endpoint):
        base = ["--endpoints", endpoint, "-w", fmt, "elect"]
        if fmt == "table":
            return [run(tool, base + ["E", "p1"]), run(tool, base + ["-l", "E"])]
        with Background(tool, base + ["-l", "E"]) as o, \
                Background(tool, base + ["E", "p1"]) as c1:
            c1.wait_for(printed(fmt, "p1"), "p1 leading")
            o.wait_for(printed(fmt, "p1"), "p1 observed")
            with Background(tool, base + ["E", "p2"]) as c2:
                wait_until(lambda: keys_under(endpoint, "E/") == 2, 20, "p2 campaigning")
                c1.signal(signal.SIGINT)
                c2.wait_for(printed(fmt, "p2"), "p2 leading")
                o.wait_for(printed(fmt, "p2"), "p2 observed")
                c2.signal(signal.SIGINT)
                o.signal(signal.SIGINT)
                return [c1.finish(), c2.finish(), o.finish()]

    scenario.extra_ids = []
    return scenario, steps


@pytest.mark.parametrize("fmt", FORMATS)
def test_elect_sequence(tmp_path, fmt):
    scenario, steps = elect_scenario(fmt)
    want, got = sequence_on_fresh_servers(tmp_path, scenario)
    assert_runs_equal(want, got, steps)


ELECT_ERRORS = [["elect"], ["elect", "E"], ["elect", "-l", "E", "p"], ["elect", "a", "b", "c"],
                ["-w", "yaml", "elect", "E", "p"]]


@pytest.mark.parametrize("cmd", ELECT_ERRORS, ids=" ".join)
def test_elect_errors(endpoint, cmd):
    assert_same(["--endpoints", endpoint] + cmd)
