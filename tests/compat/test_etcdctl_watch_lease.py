"""The real etcdctl 3.4 (ETCDCTL_API=3): watch, lease, lock and elect
against a real server.

Long-running commands (watch, lease keep-alive, lock, elect) run in the
background (tests/support/line_process.py); the test reads their output line
by line with deadlines. Watches pass --rev so that no event depends on when
etcdctl's watch was created. Lease ids are chosen by the server, so outputs
are built from the id etcdctl printed.

Run against etcd itself with ETCDD_BIN=/usr/bin/etcd to check the expectations.
"""

import json
import os
import re

from conftest import ETCDCTL, b64
from etcd_rpc import wait_until
from line_process import LineProcess


def background(endpoint, *args, stdin=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    return LineProcess([ETCDCTL, "--endpoints=" + endpoint] + list(args), env=env, stdin=stdin)


def grant(etcdctl, ttl):
    """Grants a lease with etcdctl; returns its id as etcdctl prints it (hex)."""
    out = etcdctl.ok("lease", "grant", str(ttl))
    m = re.fullmatch(r"lease ([0-9a-f]{16}) granted with TTL\(%ds\)\n" % ttl, out)
    assert m, out
    return m.group(1)


# ---- watch


def test_watch_prints_history_then_live_events(etcdctl, server):
    etcdctl.ok("put", "a", "1")  # 2
    etcdctl.ok("put", "a", "2")  # 3
    etcdctl.ok("del", "a")  # 4
    with background(server.endpoint, "watch", "--rev", "2", "a") as w:
        assert w.read_lines(9) == ["PUT", "a", "1", "PUT", "a", "2", "DELETE", "a", ""]
        etcdctl.ok("put", "b", "x")  # not watched
        etcdctl.ok("put", "a", "3")
        assert w.read_lines(3) == ["PUT", "a", "3"]


def test_watch_prefix_prev_kv(etcdctl, server):
    etcdctl.ok("put", "p/1", "a")  # 2
    etcdctl.ok("put", "p/1", "b")  # 3
    etcdctl.ok("put", "q", "c")  # 4
    etcdctl.ok("del", "p/1")  # 5
    with background(server.endpoint, "watch", "--prefix", "--prev-kv", "--rev", "2", "p/") as w:
        # An event with a previous value prints it first.
        assert w.read_lines(3 + 5 + 5) == ["PUT", "p/1", "a",
                                           "PUT", "p/1", "a", "p/1", "b",
                                           "DELETE", "p/1", "b", "p/1", ""]


def test_watch_json(etcdctl, server, cluster):
    etcdctl.ok("put", "j", "1")  # 2
    etcdctl.ok("del", "j")  # 3
    with background(server.endpoint, "watch", "--rev", "2", "j", "-w", "json") as w:
        reply = json.loads(w.read_line())
    # A catch-up reply carries both revisions; its header is the current revision.
    assert reply == {
        "Header": cluster.header(3),
        "Events": [{"kv": {"key": b64("j"), "create_revision": 2, "mod_revision": 2,
                           "version": 1, "value": b64("1")}},
                   {"type": 1, "kv": {"key": b64("j"), "mod_revision": 3}}],
        "CompactRevision": 0, "Canceled": False, "Created": False,
    }


def test_watch_runs_a_command_per_event(etcdctl, server):
    etcdctl.ok("put", "w", "1")  # 2
    etcdctl.ok("put", "w", "2")  # 3
    script = "echo $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_REVISION"
    with background(server.endpoint, "watch", "--rev", "2", "w", "--", "sh", "-c", script) as w:
        # The reply is printed, then the command runs once per event of it;
        # ETCD_WATCH_REVISION is the reply's header revision.
        assert w.read_lines(8) == ["PUT", "w", "1", "PUT", "w", "2",
                                   '"PUT" "w" "1" 3', '"PUT" "w" "2" 3']


def test_watch_interactive(etcdctl, server):
    etcdctl.ok("put", "i", "1")  # 2
    with background(server.endpoint, "watch", "-i", stdin=True) as w:
        w.write("watch i --rev 2\n")
        assert w.read_lines(3) == ["PUT", "i", "1"]
        etcdctl.ok("put", "i", "2")
        assert w.read_lines(3) == ["PUT", "i", "2"]


def test_watch_from_a_compacted_revision(etcdctl, server):
    for v in "123":
        etcdctl.ok("put", "c", v)  # 2..4
    etcdctl.ok("compaction", "4")
    with background(server.endpoint, "watch", "--rev", "2", "c") as w:
        assert w.wait() == 5
        assert w.rest() == []
        assert w.stderr_lines == [
            "watch was canceled (etcdserver: mvcc: required revision has been compacted)",
            "Error: watch is canceled by the server"]


# ---- lease


def test_lease_lifecycle(etcdctl):
    lease = grant(etcdctl, 60)
    assert etcdctl.ok("put", "--lease=" + lease, "k1", "v") == "OK\n"
    assert etcdctl.ok("put", "--lease=" + lease, "k2", "v") == "OK\n"
    assert etcdctl.json("get", "k1")["kvs"][0]["lease"] == int(lease, 16)

    out = etcdctl.ok("lease", "timetolive", lease)
    m = re.fullmatch(r"lease %s granted with TTL\(60s\), remaining\((\d+)s\)\n" % lease, out)
    assert m and 0 < int(m.group(1)) <= 60, out
    out = etcdctl.ok("lease", "timetolive", "--keys", lease)
    m = re.fullmatch(r"lease %s granted with TTL\(60s\), remaining\(\d+s\), "
                     r"attached keys\(\[(.*)\]\)\n" % lease, out)
    assert m and sorted(m.group(1).split(" ")) == ["k1", "k2"], out

    assert etcdctl.ok("lease", "list") == "found 1 leases\n%s\n" % lease
    assert etcdctl.ok("lease", "keep-alive", "--once", lease) == \
        "lease %s keepalived with TTL(60)\n" % lease
    assert etcdctl.ok("lease", "revoke", lease) == "lease %s revoked\n" % lease
    assert etcdctl.ok("get", "--prefix", "k") == ""
    assert etcdctl.ok("lease", "timetolive", lease) == "lease %s already expired\n" % lease
    assert etcdctl.ok("lease", "list") == "found 0 leases\n"


def test_lease_json(etcdctl, cluster):
    out = etcdctl.json("lease", "grant", "60")
    lease = out["ID"]
    assert out == {"cluster_id": cluster.cluster_id, "member_id": cluster.member_id,
                   "revision": 1, "raft_term": cluster.term, "ID": lease, "TTL": 60, "Error": ""}
    etcdctl.ok("put", "--lease=%x" % lease, "k", "v")
    out = etcdctl.json("lease", "timetolive", "--keys", "%x" % lease)
    assert 0 < out.pop("ttl") <= 60
    assert out == {"cluster_id": cluster.cluster_id, "member_id": cluster.member_id,
                   "revision": 2, "raft_term": cluster.term, "id": lease, "granted-ttl": 60,
                   "keys": [b64("k")]}
    assert etcdctl.json("lease", "keep-alive", "--once", "%x" % lease) == {
        "cluster_id": cluster.cluster_id, "member_id": cluster.member_id, "revision": 2,
        "raft_term": cluster.term, "ID": lease, "TTL": 60}
    assert etcdctl.json("lease", "list") == {
        "cluster_id": cluster.cluster_id, "member_id": cluster.member_id, "revision": 2,
        "raft_term": cluster.term, "leases": [{"id": lease}]}
    etcdctl.ok("lease", "revoke", "%x" % lease)
    assert etcdctl.json("lease", "timetolive", "--keys", "%x" % lease) == {
        "cluster_id": cluster.cluster_id, "member_id": cluster.member_id, "revision": 3,
        "raft_term": cluster.term, "id": lease, "ttl": -1, "granted-ttl": 0, "keys": None}


def test_lease_errors(etcdctl):
    # Raised to the minimum TTL: 1.5 election timeouts (1 s by default), rounded up.
    out = etcdctl.ok("lease", "grant", "1")
    assert re.fullmatch(r"lease [0-9a-f]{16} granted with TTL\(2s\)\n", out), out
    assert etcdctl.error("lease", "grant", "9000000001") == \
        "Error: failed to grant lease (etcdserver: too large lease TTL)"
    assert etcdctl.error("lease", "revoke", "1234") == \
        "Error: failed to revoke lease (etcdserver: requested lease not found)"
    p = etcdctl.run("lease", "keep-alive", "--once", "1234")
    assert (p.returncode, p.stdout, p.stderr.strip().splitlines()[-1]) == \
        (2, "", "Error: etcdserver: requested lease not found")
    assert etcdctl.ok("lease", "timetolive", "1234") == "lease 0000000000001234 already expired\n"
    assert etcdctl.error("put", "--lease=1234", "k", "v") == \
        "Error: etcdserver: requested lease not found"


def test_lease_keep_alive_until_revoked(etcdctl, server):
    lease = grant(etcdctl, 6)
    with background(server.endpoint, "lease", "keep-alive", lease) as ka:
        line = "lease %s keepalived with TTL(6)" % lease
        assert ka.read_lines(2) == [line, line]  # the second one TTL/3 later
        etcdctl.ok("lease", "revoke", lease)
        while True:
            got = ka.read_line()
            if got != line:
                break
        assert got == "lease %s expired or revoked." % lease
        assert ka.wait() == 0


# ---- lock and elect (clientv3's concurrency recipes: txn, lease, watch)


def test_lock_waits_for_the_holder(etcdctl, server):
    with background(server.endpoint, "lock", "mylock") as a:
        a_key = a.read_line()
        assert re.fullmatch(r"mylock/[0-9a-f]+", a_key) and a.read_line() == ""
        script = "echo $ETCD_LOCK_KEY $ETCD_LOCK_REV"
        with background(server.endpoint, "lock", "mylock", "--", "sh", "-c", script) as b:
            # B queued its own key behind A's and waits.
            queued = wait_until(lambda: (lambda kvs: kvs if len(kvs) == 2 else None)(
                etcdctl.json("get", "--prefix", "mylock/").get("kvs", [])), timeout=15,
                what="a second key under mylock/")
            assert b.running()
            [b_kv] = [kv for kv in queued if kv["key"] != b64(a_key)]
            assert b_kv["lease"] != int(a_key.split("/")[1], 16)
            a.interrupt()
            assert a.wait() == 0
            b_out = b.read_line().split(" ")
            assert b.wait() == 0
        assert b64(b_out[0]) == b_kv["key"]
        assert b_out[0] == "mylock/%x" % b_kv["lease"]
        assert int(b_out[1]) > b_kv["create_revision"]
    # Both released their keys.
    assert etcdctl.ok("get", "--prefix", "mylock/") == ""


def test_elect_campaign_observe_and_hand_over(etcdctl, server):
    with background(server.endpoint, "elect", "myel", "p1") as first:
        leader1 = first.read_line()
        assert re.fullmatch(r"myel/[0-9a-f]+", leader1) and first.read_line() == "p1"
        with background(server.endpoint, "elect", "-l", "myel") as observer, \
                background(server.endpoint, "elect", "myel", "p2") as second:
            assert observer.read_lines(2) == [leader1, "p1"]
            wait_until(lambda: len(etcdctl.json("get", "--prefix", "myel/").get("kvs", [])) == 2,
                       timeout=15, what="the second candidate's key")
            assert second.running()
            first.interrupt()  # resigns
            assert first.wait() == 0
            leader2 = second.read_line()
            assert re.fullmatch(r"myel/[0-9a-f]+", leader2) and leader2 != leader1
            assert second.read_line() == "p2"
            assert observer.read_lines(2) == [leader2, "p2"]
            second.interrupt()
            assert second.wait() == 0
            observer.interrupt()
            assert observer.wait() == 0
    assert etcdctl.ok("get", "--prefix", "myel/") == ""
