"""--quota-backend-bytes and the NOSPACE alarm in a 3-member cluster, driven
with the real etcdctl (etcd 3.4: etcdserver/quota.go, api/v3rpc/quota.go,
apply.go applierV3Capped and quotaApplierV3, api/v3alarm).

- Filling the backend past a small quota: a member that cannot take a put
  raises NOSPACE for itself through Raft (so does a member whose own backend
  is past the quota when it applies a put), and every member lists the same
  alarms.
- While NOSPACE is raised, on every member: put, txn with a put and lease
  grant fail with "etcdserver: mvcc: database space exceeded"; reads, txns
  without puts, deletes and compaction work.
- The alarms survive a restart of every member, also with a quota the data
  fits in (the capped applier comes back with them), and Maintenance.Status
  lists them in `errors` as etcd does.
- A follower so far behind that it gets a snapshot takes the alarms from it.
- `etcdctl alarm disarm` clears them on every member and writes come back:
  once the members run with a larger quota, or, under the same quota, once
  the keys are deleted, the history compacted and every member defragmented
  (etcd's quota compares the backend FILE size, which only defragmentation
  shrinks).

Run against etcd itself: ETCDD_BIN=/usr/bin/etcd /usr/bin/python3 -m pytest -q <this file>
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import grpc  # noqa: E402
from etcd_rpc import Client, delete_op, put_op  # noqa: E402
from etcdctl_cli import etcdctl  # noqa: E402
from etcdd_harness import Cluster, is_real_etcd  # noqa: E402

QUOTA = 8 * 1024 * 1024
BIG_QUOTA = 64 * 1024 * 1024
VALUE = "v" * (600 * 1024)
MAX_FILL_PUTS = 60
NOSPACE = "Error: etcdserver: mvcc: database space exceeded"
WAIT_SECONDS = 30


def last_error(r):
    lines = r.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def alarms_of(endpoint):
    r = etcdctl([endpoint], "alarm", "list", "-w", "json", check=True)
    return sorted((a["memberID"], a.get("alarm", 0)) for a in json.loads(r.stdout).get("alarms", []))


def wait_same_alarms(endpoints, want=None):
    """Polls (bounded) until every endpoint lists the same non-empty alarms
    (or exactly `want`); returns them."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        seen = [alarms_of(ep) for ep in endpoints]
        same = all(s == seen[0] for s in seen)
        if same and (seen[0] == want if want is not None else seen[0]):
            return seen[0]
        assert time.monotonic() < deadline, "alarms differ or missing: %r" % seen
        time.sleep(0.1)


def member_ids(endpoints):
    r = etcdctl(endpoints, "endpoint", "status", "-w", "json", check=True)
    return {s["Endpoint"]: s["Status"]["header"]["member_id"] for s in json.loads(r.stdout)}


def fill(endpoint):
    for i in range(MAX_FILL_PUTS):
        r = stdin_command(endpoint, ["put", "fill/%03d" % i], VALUE)
        if r.returncode != 0:
            assert last_error(r) == NOSPACE
            return i
    raise AssertionError("the quota never refused a put")


def stdin_command(endpoint, args, stdin):
    """etcdctl `args` reading `stdin` (a put's value, a txn script)."""
    env = dict(os.environ, ETCDCTL_API="3")
    return subprocess.run(["etcdctl", "--endpoints", endpoint] + args, input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


def check_capped(endpoint, compact=False):
    """What NOSPACE refuses and what it lets through, on one member."""
    assert last_error(etcdctl([endpoint], "put", "small", "v")) == NOSPACE
    with Client(endpoint) as c:
        try:
            c.txn([put_op("small", "v")])
            raise AssertionError("a txn with a put passed NOSPACE")
        except grpc.RpcError as e:
            assert (e.code(), e.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                               NOSPACE[len("Error: "):])
    assert last_error(etcdctl([endpoint], "lease", "grant", "60")) == (
        "Error: failed to grant lease (etcdserver: mvcc: database space exceeded)")
    assert etcdctl([endpoint], "get", "fill/000", "--keys-only", check=True).stdout == (
        "fill/000\n\n")
    if compact:
        assert etcdctl([endpoint], "compaction", "2", check=True).stdout == (
            "compacted revision 2\n")


def test_nospace_on_every_member_restart_and_disarm(tmp_path):
    with Cluster(tmp_path, 3, extra_args=["--quota-backend-bytes", str(QUOTA)]) as c:
        eps = c.endpoints()
        ids = member_ids(eps)
        assert fill(eps[0]) >= 8
        # Which members raise it depends on their file sizes: the one that
        # refused the put, or one whose apply of an earlier put passed its
        # quota (then the refusal came from the capped applier).
        alarms = wait_same_alarms(eps)
        assert all(a == 1 and m in ids.values() for m, a in alarms)

        for i, ep in enumerate(eps):
            check_capped(ep, compact=i == 0)
            # A txn without puts, and deletes, are not capped.
            with Client(ep) as client:
                r = client.txn([delete_op("fill/%03d" % (1 + i))])
                assert r.succeeded and r.responses[0].response_delete_range.deleted == 1
            assert etcdctl([ep], "del", "fill/%03d" % (4 + i), check=True).stdout == "1\n"

        # A member whose own check refused a put raised its alarm too.
        alarms = wait_same_alarms(eps)

        # Every member restarts with a quota the data fits in: the alarms are
        # kept, and so are the refusals.
        for m in c.members:
            m.kill9()
        for m in c.members:
            q = m.extra_args.index("--quota-backend-bytes")
            m.extra_args[q + 1] = str(BIG_QUOTA)
            m.launch()
        for m in c.members:
            m.wait_ready()
        assert wait_same_alarms(eps, alarms) == alarms
        text = sorted("memberID:%d alarm:NOSPACE " % m for m, _ in alarms)
        r = etcdctl(eps, "endpoint", "status", "-w", "json", check=True)
        for s in json.loads(r.stdout):
            assert sorted(s["Status"]["errors"]) == text
        for ep in eps:
            check_capped(ep)

        r = etcdctl([eps[1]], "alarm", "disarm", check=True)
        assert sorted(r.stdout.splitlines()) == text
        wait_same_alarms(eps, [])
        for i, ep in enumerate(eps):
            assert etcdctl([ep], "put", "after/%d" % i, "v", check=True).stdout == "OK\n"
            assert "granted with TTL(60s)" in etcdctl([ep], "lease", "grant", "60",
                                                       check=True).stdout
            with Client(ep) as client:
                assert client.txn([put_op("t/%d" % i, "v")]).succeeded


def test_delete_compact_defrag_disarm_under_the_same_quota(tmp_path):
    with Cluster(tmp_path, 3, extra_args=["--quota-backend-bytes", str(QUOTA)]) as c:
        eps = c.endpoints()
        assert fill(eps[0]) >= 8
        wait_same_alarms(eps)
        assert last_error(etcdctl([eps[1]], "put", "small", "v")) == NOSPACE
        deleted = etcdctl([eps[2]], "del", "fill/", "--prefix", check=True).stdout
        assert int(deleted) >= 8
        status = json.loads(etcdctl([eps[0]], "endpoint", "status", "-w", "json",
                                    check=True).stdout)[0]["Status"]
        rev = status["header"]["revision"]
        assert etcdctl([eps[0]], "compaction", "--physical", str(rev), check=True).stdout == (
            "compacted revision %d\n" % rev)
        # Defragment is not capped: it shrinks every member's file.
        r = etcdctl(eps, "defrag", check=True)
        assert r.stdout.count("Finished defragmenting etcd member") == 3
        sizes = json.loads(etcdctl(eps, "endpoint", "status", "-w", "json",
                                   check=True).stdout)
        assert all(s["Status"]["dbSize"] < QUOTA // 2 for s in sizes), sizes
        # Still refused until disarmed, then accepted everywhere.
        assert last_error(etcdctl([eps[1]], "put", "small", "v")) == NOSPACE
        assert etcdctl([eps[1]], "alarm", "disarm", check=True).stdout
        wait_same_alarms(eps, [])
        for i, ep in enumerate(eps):
            assert etcdctl([ep], "put", "again/%d" % i, "v", check=True).stdout == "OK\n"
        assert alarms_of(eps[0]) == []


def test_follower_learns_alarms_from_a_snapshot(tmp_path):
    """A follower that was down while NOSPACE was raised, and so far behind
    that the leader sends it a snapshot (--snapshot-count + 5000 entries),
    takes the alarms from the snapshot: it lists them and refuses puts."""
    snapshot_count, catch_up = 1000, 5000
    args = ["--quota-backend-bytes", str(QUOTA), "--snapshot-count", str(snapshot_count)]
    with Cluster(tmp_path, 3, extra_args=args) as c:
        eps = c.endpoints()
        follower = c.members[2]
        follower.stop()
        assert fill(eps[0]) >= 8
        alarms = wait_same_alarms(eps[:2])
        # Deletes are not capped: they push the log past the catch-up window.
        with Client(eps[1], timeout=15) as client:
            for i in range(snapshot_count + catch_up + 500):
                client.delete("missing/%d" % i)
        follower.start()
        text = sorted("memberID:%d alarm:NOSPACE " % m for m, _ in alarms)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            r = etcdctl([follower.endpoint], "endpoint", "status", "-w", "json")
            if r.returncode == 0 and sorted(json.loads(r.stdout)[0]["Status"].get(
                    "errors", [])) == text:
                break
            assert time.monotonic() < deadline, r.stdout + r.stderr
            time.sleep(0.1)
        assert alarms_of(follower.endpoint) == alarms
        check_capped(follower.endpoint)
        if not is_real_etcd():
            assert any("restored the backend from the leader's snapshot" in line
                       for line in follower.log), "no snapshot was sent: the test tested nothing"
