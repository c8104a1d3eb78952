"""Snapshots and membership changes on a 3-member cluster, driven the way an
operator does it: real processes, the real etcdctl for member changes.

- A follower stopped while more entries are written than the leader keeps in
  its log catches up from a snapshot of the backend and matches the others.
- A dead member is replaced as the seed runbook says: `member remove` it,
  `member add` the new one, start that with --initial-cluster-state existing.
- A learner is added, catches up and is promoted; a member removed from the
  cluster stops by itself.

Runs against real etcd too (ETCDD_BIN=/usr/bin/etcd)."""

import json
import os
import sys

import etcd3

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcd_rpc import wait_until  # noqa: E402
from etcdctl_cli import etcdctl, statuses  # noqa: E402
from etcdd_harness import Cluster, Server, free_port, is_real_etcd  # noqa: E402

# Small enough that the test writes past several snapshots quickly; the
# leader keeps 5000 entries after a snapshot (etcd: SnapshotCatchUpEntries),
# so a follower more than snapshot-count + 5000 entries behind needs one.
SNAPSHOT_COUNT = 1000
CATCH_UP_ENTRIES = 5000


def client_for(server):
    host, port = server.endpoint.split(":")
    return etcd3.client(host=host, port=int(port), timeout=15)


def same_state(endpoints):
    """Every member at the same revision with the same KV hash."""
    st = statuses(endpoints).values()
    if len({s["header"]["revision"] for s in st}) != 1:
        return False
    out = etcdctl(endpoints, "endpoint", "hashkv", "-w", "json", check=True).stdout
    return len({h["HashKV"]["hash"] for h in json.loads(out)}) == 1


def add_member(endpoints, *args):
    """`member add`, retried while etcd finds the cluster unhealthy: etcd
    counts a peer as connected only 5 s after its stream came up."""
    result = []

    def attempt():
        r = etcdctl(endpoints, "member", "add", *args)
        assert r.returncode == 0 or "unhealthy cluster" in r.stderr, r.stderr
        result.append(r)
        return r.returncode == 0
    wait_until(attempt, 60, "member add")
    return result[-1].stdout


def joining_member(tmp_path, name, peer_port, add_output):
    """The member `member add` announced, configured from the ETCD_* lines it
    printed, as the runbook does; not started."""
    env = dict(line.split("=", 1) for line in add_output.splitlines()
               if line.startswith("ETCD_"))
    assert env["ETCD_NAME"] == '"%s"' % name
    assert env["ETCD_INITIAL_CLUSTER_STATE"] == '"existing"'
    return Server(tmp_path, name=name, peer_port=peer_port,
                  initial_cluster=env["ETCD_INITIAL_CLUSTER"].strip('"'),
                  extra_args=["--initial-cluster-state", "existing",
                              "--initial-cluster-token", "t"])


def put_many(client, n, prefix):
    for i in range(n):
        client.put("%s/%06d" % (prefix, i), "v%d" % i)


def test_lagging_follower_catches_up_from_snapshot(tmp_path):
    args = ["--snapshot-count", str(SNAPSHOT_COUNT)]
    with Cluster(tmp_path, 3, extra_args=args) as c:
        st = statuses(c.endpoints())
        leader_id = next(iter(st.values()))["leader"]
        follower = next(m for m in c.members if st[m.endpoint]["header"]["member_id"] != leader_id)
        others = [m for m in c.members if m is not follower]
        follower.stop()

        writer = client_for(others[0])
        put_many(writer, SNAPSHOT_COUNT + CATCH_UP_ENTRIES + 500, "/snap")
        writer.close()

        follower.start()
        wait_until(lambda: same_state(c.endpoints()), 60, "the follower to catch up")
        back = client_for(follower)
        value, meta = back.get("/snap/%06d" % 0)
        assert value == b"v0"
        assert back.get("/snap/%06d" % (SNAPSHOT_COUNT + CATCH_UP_ENTRIES + 499))[0] is not None
        back.close()
        if not is_real_etcd():
            assert any("applied incoming snapshot" in line for line in follower.log), \
                "the follower caught up without a snapshot: the test did not test it"
        # The WAL was trimmed to --max-wals segments on the leader side too
        # (etcdd writes 64 MiB segments, so here only the snapshot marker shows).

        # The caught-up member restarts from its installed backend.
        follower.stop()
        follower.start()
        wait_until(lambda: same_state(c.endpoints()), 60, "the follower to restart")


def test_replace_a_dead_member(tmp_path):
    # The cluster has compacted its log by the time the new member joins, so
    # it starts from a snapshot, as on any long-running cluster.
    args = ["--snapshot-count", str(SNAPSHOT_COUNT)]
    with Cluster(tmp_path, 3, extra_args=args) as c:
        eps = c.endpoints()
        writer = client_for(c.members[0])
        put_many(writer, SNAPSHOT_COUNT + CATCH_UP_ENTRIES + 500, "/history")
        writer.put("/before", "1")
        writer.close()
        dead = c.members[2]
        alive = [m.endpoint for m in c.members[:2]]
        members = etcdctl(alive, "member", "list", "-w", "json", check=True).stdout
        dead_id = next(m["ID"] for m in json.loads(members)["members"] if m["name"] == dead.name)
        dead.kill9()
        # A request forwarded to a leader that just died is lost and times
        # out, in etcd too; an operator acts once the survivors have a leader.
        wait_until(lambda: all(s.get("leader", 0) not in (0, dead_id)
                               for s in statuses(alive).values()),
                   60, "a leader among the survivors")
        out = etcdctl(alive, "member", "remove", "%x" % dead_id, check=True).stdout
        assert "Member %x removed from cluster" % dead_id in out.replace("  ", " ").replace(
            "Member  ", "Member ")

        peer_port = free_port()
        out = add_member(alive, "m3", "--peer-urls", "http://127.0.0.1:%d" % peer_port)
        new = joining_member(tmp_path, "m3", peer_port, out)
        new.start()
        try:
            eps = alive + [new.endpoint]
            c2 = client_for(new)
            assert c2.get("/before")[0] == b"1"
            assert c2.get("/history/%06d" % 0)[0] == b"v0"
            if not is_real_etcd():
                assert any("applied incoming snapshot" in line for line in new.log)
            c2.put("/after", "2")
            c2.close()
            out = etcdctl(eps, "member", "list", "-w", "json", check=True).stdout
            listed = json.loads(out)["members"]
            assert sorted(m["name"] for m in listed) == ["m0", "m1", "m3"]
            wait_until(lambda: same_state(eps), 60, "the members to converge")
        finally:
            new.kill9()


def test_learner_promote_and_removed_member_stops(tmp_path):
    with Cluster(tmp_path, 3) as c:
        eps = c.endpoints()
        client_for(c.members[0]).put("/k", "v")
        peer_port = free_port()
        out = add_member(eps, "l", "--learner", "--peer-urls", "http://127.0.0.1:%d" % peer_port)
        learner_id = out.split()[1]
        # A learner that has not started cannot be promoted.
        r = etcdctl(eps, "member", "promote", learner_id)
        assert r.returncode != 0
        assert "can only promote a learner member which is in sync with leader" in r.stderr

        learner = joining_member(tmp_path, "l", peer_port, out)
        learner.start()
        try:
            # A learner serves serializable reads only (etcd 3.4).
            r = etcdctl([learner.endpoint], "put", "/x", "y")
            assert r.returncode != 0 and "rpc not supported for learner" in r.stderr
            wait_until(lambda: etcdctl([learner.endpoint], "get", "/k", "--consistency=s",
                                       "--print-value-only").stdout == "v\n",
                       60, "the learner to catch up")
            # A second learner exceeds the default limit of one.
            r = etcdctl(eps, "member", "add", "l2", "--learner",
                        "--peer-urls", "http://127.0.0.1:%d" % free_port())
            assert r.returncode != 0 and "too many learner members in cluster" in r.stderr

            def promoted():
                r = etcdctl(eps, "member", "promote", learner_id)
                return r.returncode == 0
            wait_until(promoted, 60, "the learner to catch up and be promoted")
            out = etcdctl(eps, "member", "list", "-w", "json", check=True).stdout
            listed = json.loads(out)["members"]
            assert all(not m.get("isLearner", False) for m in listed) and len(listed) == 4

            # Removing it: the member stops by itself, as etcd's does.
            etcdctl(eps, "member", "remove", learner_id, check=True)
            assert learner.proc.wait(timeout=30) is not None
        finally:
            learner.kill9()
