"""`kvctl lock` excludes: concurrent holders never overlap, and a holder
that dies without unlocking keeps the lock until its session lease expires.

Each critical section is a small script (written by the test) that appends
"start" and "end" lines to a shared log, with the lock revision kvctl passes
in ETCD_LOCK_REV, its pid and a timestamp, and increments a counter file
without any locking of its own, with some work in between (a short pause
that widens the window an overlap would need). If two sections ever ran at
once, the log would show a start after a start, or the counter would lose
an increment.

kvctl and etcdctl use the same keys and transactions (clientv3's
concurrency.Mutex), so they also exclude each other: one case mixes them.

The server is $ETCDD_BIN; with ETCDD_BIN=/usr/bin/etcd the suite checks
kvctl against real etcd.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
sys.path.insert(0, HERE)

from etcd_rpc import Client, prefix_end, wait_until  # noqa: E402
from etcdd_harness import Server  # noqa: E402
from kvctl_compare import Background, tool_env, ETCDCTL, KVCTL  # noqa: E402

CRITICAL_SECTION = r'''
import os, sys, time
log, counter = sys.argv[1], sys.argv[2]
rev, key = os.environ["ETCD_LOCK_REV"], os.environ["ETCD_LOCK_KEY"]
def note(what):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, ("%s %d %s %s %.6f\n" % (what, os.getpid(), rev, key, time.time())).encode())
    os.close(fd)
note("start")
with open(counter) as f:
    n = int(f.read() or "0")
time.sleep(0.05)  # work: the window an overlapping section would hit
with open(counter + ".tmp", "w") as f:
    f.write(str(n + 1))
os.rename(counter + ".tmp", counter)
note("end")
'''


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path / "server") as s:
        yield s


@pytest.fixture
def section(tmp_path):
    """(argv of the critical section, log path, counter path)."""
    script = tmp_path / "section.py"
    script.write_text(CRITICAL_SECTION)
    log, counter = tmp_path / "log", tmp_path / "counter"
    counter.write_text("0")
    return [sys.executable, str(script), str(log), str(counter)], log, counter


def read_log(log):
    """[(what, pid, rev, key, time)] in log order."""
    entries = []
    for line in log.read_text().splitlines():
        what, pid, rev, key, t = line.split()
        entries.append((what, int(pid), int(rev), key, float(t)))
    return entries


def lock_argv(tool, endpoint, *args):
    return [KVCTL if tool == "kvctl" else ETCDCTL, "--endpoints", endpoint, "lock"] + list(args)


MIXED = ["kvctl", "etcdctl", "kvctl", "etcdctl", "kvctl"]


@pytest.mark.parametrize("tools", [["kvctl"] * 5, MIXED], ids=["kvctl", "kvctl-and-etcdctl"])
def test_concurrent_lockers_never_overlap(server, section, tools):
    argv, log, counter = section
    rounds = 3
    workers = []
    for tool in tools:
        # Each worker takes the lock `rounds` times, one kvctl (or etcdctl)
        # process per round.
        one = lock_argv(tool, server.endpoint, "--ttl", "5", "L", "--") + argv
        script = "for i in $(seq %d); do %s || exit $?; done" % (
            rounds, " ".join("'%s'" % a for a in one))
        workers.append(subprocess.Popen(["sh", "-c", script], env=tool_env(tool),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err

    entries = read_log(log)
    sections = len(tools) * rounds
    assert len(entries) == 2 * sections
    for i in range(0, len(entries), 2):
        start, end = entries[i], entries[i + 1]
        assert (start[0], end[0]) == ("start", "end"), entries[i:i + 2]
        assert start[1:4] == end[1:4], "another section ran inside %r" % (start,)
    revs = [e[2] for e in entries[::2]]
    assert revs == sorted(revs) and len(set(revs)) == sections, revs
    assert int(counter.read_text()) == sections
    # Every lock was released: no key is left under the lock's prefix.
    with Client(server.endpoint) as c:
        assert not c.get("L/", prefix_end("L/")).kvs


def keys_under(endpoint, prefix):
    with Client(endpoint) as c:
        return [kv.key.decode() for kv in c.get(prefix, prefix_end(prefix)).kvs]


def held_key(p):
    """The lock key a holder printed ("L/<lease hex>\\n\\n")."""
    p.wait_for(lambda out: out.endswith(b"\n\n"), "the lock key")
    return p.out.split(b"\n")[0].decode()


def test_killed_holder_keeps_the_lock_until_its_lease_expires(server, section):
    argv, log, _ = section
    ttl = 3
    with Background("kvctl", ["--endpoints", server.endpoint, "lock", "--ttl", str(ttl),
                              "K"]) as holder:
        key = held_key(holder)
        lease = int(key.split("/")[1], 16)
        waiter = subprocess.Popen(lock_argv("kvctl", server.endpoint, "--ttl", str(ttl), "K", "--")
                                  + argv, env=tool_env("kvctl"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        try:
            wait_until(lambda: len(keys_under(server.endpoint, "K/")) == 2, 20, "the waiter")
            killed_at = time.time()
            holder.signal(signal.SIGKILL)
            _, err = waiter.communicate(timeout=60)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()
        assert waiter.returncode == 0, err
        assert holder.finish().code == -signal.SIGKILL

    [(what, _, rev, waiter_key, started), (end, _, _, _, _)] = read_log(log)
    assert (what, end) == ("start", "end")
    assert waiter_key != key
    with Client(server.endpoint) as c:
        # The holder's session is gone, and with it its key: deleted when the
        # lease expired, before the waiter's lock revision.
        assert c.time_to_live(lease).TTL == -1
        events = [(r, what) for r, what, k, _ in c.history(rev) if k == key.encode()]
    assert [what for _, what in events] == ["PUT", "DELETE"]  # the delete: the expiry's
    assert events[1][0] <= rev
    # Nothing released the lock before the lease ran out: its last renewal
    # was at most a third of the TTL (plus clientv3's 500 ms send tick)
    # before the kill, so it expired at least TTL/2 after it.
    assert started - killed_at >= ttl / 2, (killed_at, started)


def test_interrupted_holder_unlocks_at_once(server, section):
    """SIGINT or SIGTERM: the holder deletes its key and exits 0; its lease
    is left to expire."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with Background("kvctl", ["--endpoints", server.endpoint, "lock", "--ttl", "60",
                                  "I"]) as holder:
            key = held_key(holder)
            holder.signal(sig)
            assert holder.finish().code == 0
        assert keys_under(server.endpoint, "I/") == []
        with Client(server.endpoint) as c:
            assert c.time_to_live(int(key.split("/")[1], 16)).TTL > 0  # not an expiry


def test_interrupted_waiter_gives_up_its_place(server):
    with Background("kvctl", ["--endpoints", server.endpoint, "lock", "W"]) as holder:
        held_key(holder)
        with Background("kvctl", ["--endpoints", server.endpoint, "lock", "W"]) as waiter:
            wait_until(lambda: len(keys_under(server.endpoint, "W/")) == 2, 20, "the waiter")
            waiter.signal(signal.SIGINT)
            r = waiter.finish()
        assert (r.code, r.out, r.err) == (1, b"", b"Error: context canceled\n")
        assert len(keys_under(server.endpoint, "W/")) == 1
        holder.signal(signal.SIGINT)
        assert holder.finish().code == 0


def test_command_exit_status(server):
    """The command's failure is kvctl's error (exit 1), as in etcdctl; the
    lock is released either way."""
    r = subprocess.run(lock_argv("kvctl", server.endpoint, "X", "--", "sh", "-c", "exit 7"),
                       env=tool_env("kvctl"), capture_output=True, timeout=60)
    assert (r.returncode, r.stderr) == (1, b"Error: exit status 7\n")
    assert keys_under(server.endpoint, "X/") == []
