"""Network partition of a 3-member cluster: the leader is cut off from both
followers (tests/support/etcdd_harness.py, Cluster.isolate: peer traffic goes
through per-member proxies; clients still reach every member).

Expected, as etcd behaves:
- the majority elects a new leader and serves writes and linearizable reads;
- the isolated old leader steps down (CheckQuorum) and refuses to serve
  linearizable reads or writes: they fail instead of returning stale data;
- after the partition heals, all members hold the same revision and contents
  (and the same HashKV, where the server implements it).

Run against both blocking modes of the proxy: "refuse" (peers see resets) and
"blackhole" (peers see silence), and a blackhole whose silent connections
outlive the heal ("blackhole-kept"), as on a real network that dropped
packets: only the members' own keepalives can notice those.
"""

import os
import sys

import grpc
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import cluster_checks  # noqa: E402
import etcd_rpc  # noqa: E402
from etcd_rpc import Client, member_status, wait_for_leader, wait_until  # noqa: E402
from etcdd_harness import Cluster  # noqa: E402

ELECTION_MS = 1000
FLAGS = ["--heartbeat-interval", "100", "--election-timeout", str(ELECTION_MS)]
# Bounds for events that take a few election timeouts; generous for loaded CI.
ELECTION_DEADLINE = 10 * ELECTION_MS / 1000
# How long a request to the isolated member is given to (wrongly) succeed.
PROBE_TIMEOUT = 2.0


def leader_seen_by(server):
    """The leader id `server` reports (0: none), or None when it does not answer."""
    status = member_status(server)
    return None if status is None else status[1]


def refused(call):
    """Runs `call`; returns the gRPC error it failed with, or fails the test
    with what it returned."""
    try:
        got = call()
    except grpc.RpcError as e:
        return e
    raise AssertionError("the isolated member served the request: %r" % (got,))


@pytest.mark.parametrize("mode", ["refuse", "blackhole", "blackhole-kept"])
def test_isolated_leader_steps_down_and_majority_serves(tmp_path, mode):
    keep_silent_connections = mode == "blackhole-kept"
    mode = "blackhole" if keep_silent_connections else mode
    with Cluster(tmp_path, 3, extra_args=FLAGS, peer_proxies=True) as cluster:
        old = wait_for_leader(cluster.members, ELECTION_DEADLINE)
        old_id = etcd_rpc.member_id(old)
        majority = [m for m in cluster.members if m is not old]
        with Client(old.endpoint) as c:
            rev0 = c.put("/p/before", "1").header.revision

        cluster.isolate(old, mode)

        # The majority elects a new leader among themselves...
        new = wait_for_leader(majority, ELECTION_DEADLINE, exclude_ids={old_id})
        follower = next(m for m in majority if m is not new)
        # ...and serves writes through either member, read back linearizably.
        with Client(new.endpoint) as c:
            rev1 = wait_until(lambda: c.put("/p/after", "2").header.revision,
                              ELECTION_DEADLINE, "a write through the new leader")
        with Client(follower.endpoint) as c:
            rev2 = wait_until(lambda: c.put("/p/after2", "3").header.revision,
                              ELECTION_DEADLINE, "a write through the majority's follower")
        assert rev2 > rev1
        for m in majority:
            with Client(m.endpoint) as c:
                assert c.value("/p/after") == (b"2", rev1)
                assert c.value("/p/after2") == (b"3", rev2)

        with Client(old.endpoint, timeout=PROBE_TIMEOUT) as c:
            # It never saw the majority's writes (the partition is real)...
            assert c.value("/p/after", serializable=True) == (None, 0)
            assert c.value("/p/before", serializable=True)[0] == b"1"
            # ...so a linearizable read must not be served from its state,
            # whether or not it has noticed yet that it lost the quorum.
            refused(lambda: c.get("/p/after"))

            # CheckQuorum: it steps down within an election timeout or so.
            wait_until(lambda: leader_seen_by(old) not in (None, old_id), ELECTION_DEADLINE,
                       "the isolated leader %s to step down" % old.name)
            refused(lambda: c.get("/p/after"))
            # A write sent to it is not acknowledged either. (Its outcome is
            # unknown to the client, so it may or may not surface later.)
            refused(lambda: c.put("/p/isolated", "x"))

        cluster.heal(close_blackholed=not keep_silent_connections)
        wait_for_leader(cluster.members, ELECTION_DEADLINE * 2)
        # A write after healing reaches all three members.
        with Client(new.endpoint) as c:
            rev3 = wait_until(lambda: c.put("/p/healed", "4").header.revision,
                              ELECTION_DEADLINE, "a write after the partition healed")
        revision, contents = cluster_checks.converged(cluster.members)
        acked = [(b"/p/before", b"1", rev0), (b"/p/after", b"2", rev1),
                 (b"/p/after2", b"3", rev2), (b"/p/healed", b"4", rev3)]
        cluster_checks.acknowledged_writes_on_every_member(cluster.members, acked, revision,
                                                           contents)
        cluster_checks.same_hash_kv(cluster.members, revision)
