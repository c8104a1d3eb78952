"""Leases, as etcd 3.4 keeps them, on real processes (raw gRPC through
tests/support/etcd_rpc.py).

- A lease left without keep-alives expires on the leader, and every member
  deletes its keys at one and the same revision (one LeaseRevoke through
  Raft), within TTL + election timeout (a deadline for waiting only).
- A lease kept alive survives kill -9 of the leader: the keep-alive client
  fails over to a surviving member, and the new leader extends every lease
  (by the election timeout) instead of expiring it.
- Grant with a client-chosen id, "etcdserver: lease already exists", the
  minimum TTL (ceil(1.5 x election timeout), in seconds), the maximum TTL,
  Revoke deleting every attached key in one revision, TimeToLive with keys
  (TTL -1 for an unknown lease, no error), LeaseLeases ordered by expiry,
  put with an unknown lease, keep-alive of an unknown lease (TTL 0).
- Leases survive a restart of the whole cluster; without checkpoints (etcd's
  default) their remaining TTL starts again from the granted TTL.

Lease checkpoints (--experimental-enable-lease-checkpoint) are tested against
etcdd only, with a 1 s --experimental-lease-checkpoint-interval (etcd 3.5's flag):
etcd 3.4 checkpoints only leases with more than 5 minutes left, every 5
minutes, and offers no flag to shorten that.

Run against etcd itself: ETCDD_BIN=/usr/bin/etcd /usr/bin/python3 -m pytest -q <this file>
"""

import math
import os
import sys

import grpc
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import cluster_checks  # noqa: E402
from etcd_rpc import (Client, member_id, prefix_end, put_op, wait_for_leader,  # noqa: E402
                      wait_until)
from etcdd_harness import Cluster, Server, is_real_etcd  # noqa: E402
from lease_keepalive import KeepAlive  # noqa: E402
from watch_stream import WatchStream  # noqa: E402

ELECTION_MS = 1000
FLAGS = ["--heartbeat-interval", "100", "--election-timeout", str(ELECTION_MS)]
ELECTION_DEADLINE = 10 * ELECTION_MS / 1000
TTL = 5
# Waiting for an expiry: TTL + election timeout, plus room for a loaded CI
# machine. Only a deadline; nothing asserts how fast it happened.
EXPIRY_DEADLINE = TTL + ELECTION_MS / 1000 + 10
LEASE_NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found")


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path, extra_args=FLAGS) as s:
        yield s


@pytest.fixture
def client(server):
    with Client(server.endpoint) as c:
        yield c


def rpc_error(fn, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as info:
        fn(*args, **kwargs)
    return info.value.code(), info.value.details()


def deletes_seen(streams, prefix, start_revision, keys):
    """Opens a watch on `prefix` from `start_revision` on every member and
    waits until each delivered a DELETE of every key in `keys`; returns
    {member name: [(revision, key)] of those deletes, in order}."""
    out = {}
    for name, stream in streams.items():
        w = stream.create_and_wait(prefix, prefix_end(prefix),
                                   start_revision=start_revision).watch_id
        deleted = []
        while {k for _, k in deleted} != set(keys):
            reply = stream.next(EXPIRY_DEADLINE)
            assert reply.watch_id == w and not reply.canceled, reply
            deleted += [(rev, key) for rev, kind, key, _ in reply.events if kind == "DELETE"]
        out[name] = deleted
    return out


def test_expired_lease_deletes_keys_at_one_revision_on_every_member(tmp_path):
    with Cluster(tmp_path, 3, extra_args=FLAGS) as cluster:
        leader = wait_for_leader(cluster.members, ELECTION_DEADLINE)
        follower = next(m for m in cluster.members if m is not leader)
        clients = {m.name: Client(m.endpoint) for m in cluster.members}
        try:
            # Granted through a follower; keys put and kept alive through others.
            lease = clients[follower.name].grant(TTL).ID
            assert lease > 0
            first = clients[leader.name].put("/exp/a", "1", lease=lease).header.revision
            clients[cluster.members[2].name].put("/exp/b", "1", lease=lease)
            clients[follower.name].put("/exp/kept", "1")
            for c in clients.values():
                got = c.time_to_live(lease, keys=True)
                assert got.grantedTTL == TTL and sorted(got.keys) == [b"/exp/a", b"/exp/b"]
                # LeaseLeases answers from the member's own state: wait for it to apply.
                wait_until(lambda: lease in c.leases(), timeout=10, what="the lease listed")
            assert all(r.TTL == TTL for r in clients[follower.name].keep_alive([lease] * 2))

            streams = {m.name: WatchStream(m.endpoint) for m in cluster.members}
            try:
                seen = deletes_seen(streams, "/exp/", first, [b"/exp/a", b"/exp/b"])
            finally:
                for s in streams.values():
                    s.close()
            revision = seen[leader.name][0][0]
            for name, deletes in seen.items():
                assert deletes == [(revision, b"/exp/a"), (revision, b"/exp/b")], (name, seen)
            for c in clients.values():
                assert c.time_to_live(lease).TTL == -1
                assert lease not in c.leases()
                _, kvs = c.range_all("/exp/", serializable=True)
                assert list(kvs) == [b"/exp/kept"]
            assert rpc_error(clients[leader.name].revoke, lease) == LEASE_NOT_FOUND
        finally:
            for c in clients.values():
                c.close()


def test_kept_alive_lease_survives_leader_kill(tmp_path):
    with Cluster(tmp_path, 3, extra_args=FLAGS) as cluster:
        leader = wait_for_leader(cluster.members, ELECTION_DEADLINE)
        leader_id = member_id(leader)
        survivors = [m for m in cluster.members if m is not leader]
        with Client(leader.endpoint) as c:
            lease = c.grant(TTL).ID
            start = c.put("/ka/k", "v", lease=lease).header.revision
        # The keep-alive client talks to the leader first.
        endpoints = [leader.endpoint] + [m.endpoint for m in survivors]
        with KeepAlive(endpoints, lease, interval=1.0) as ka:
            ka.wait_for_responses(2, timeout=10)
            killed_at = ka.count()
            leader.kill9()
            wait_for_leader(survivors, ELECTION_DEADLINE, exclude_ids={leader_id})
            # Keep-alives answered over twice the TTL after the kill.
            ka.wait_for_responses(2 * TTL, timeout=60, since=killed_at)
            assert {e for e, _ in ka.responses[killed_at:]} <= {m.endpoint for m in survivors}
            for m in survivors:
                with Client(m.endpoint) as c:
                    assert c.value("/ka/k")[0] == b"v"
                    assert c.time_to_live(lease).TTL > 0
        # Keep-alives stopped: the lease now expires under the new leader.
        with WatchStream(survivors[0].endpoint) as s0, WatchStream(survivors[1].endpoint) as s1:
            seen = deletes_seen({survivors[0].name: s0, survivors[1].name: s1}, "/ka/", start,
                                [b"/ka/k"])
        [deleted] = set(tuple(d) for d in seen.values())
        leader.start()
        revision, _ = cluster_checks.converged(cluster.members)
        history = cluster_checks.same_history(cluster.members, revision)
        # The key was deleted once, by the expiry, and never before it.
        assert [(r, kind) for r, kind, k, _ in history if k == b"/ka/k"] == \
            [(start, "PUT"), (deleted[0][0], "DELETE")]


# ---- single member: grant, revoke, time-to-live, list, keep-alive


@pytest.mark.parametrize("election_ms", [1000, 3000])
def test_minimum_ttl_follows_the_election_timeout(tmp_path, election_ms):
    flags = ["--heartbeat-interval", "100", "--election-timeout", str(election_ms)]
    minimum = math.ceil(1.5 * election_ms / 1000)  # etcd: 3/2 election ticks, rounded up
    with Server(tmp_path, extra_args=flags) as server, Client(server.endpoint) as c:
        for asked, granted in [(0, minimum), (1, minimum), (minimum, minimum),
                               (minimum + 1, minimum + 1), (60, 60)]:
            resp = c.grant(asked)
            assert resp.TTL == granted, asked
            assert c.time_to_live(resp.ID).grantedTTL == granted


def test_grant_ids_and_limits(client):
    resp = client.grant(60, lease_id=0x1234)
    assert (resp.ID, resp.TTL, resp.error) == (0x1234, 60, "")
    assert rpc_error(client.grant, 30, lease_id=0x1234) == \
        (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: lease already exists")
    assert client.time_to_live(0x1234).grantedTTL == 60  # the first grant stands
    chosen = {client.grant(60).ID for _ in range(5)}
    assert len(chosen) == 5 and all(i > 0 for i in chosen)  # positive, distinct
    assert rpc_error(client.grant, 9000000001) == \
        (grpc.StatusCode.OUT_OF_RANGE, "etcdserver: too large lease TTL")
    assert client.grant(9000000000).TTL == 9000000000


def test_revoke_deletes_attached_keys_in_one_revision(server, client):
    lease = client.grant(60).ID
    other = client.grant(60).ID
    for k in ["/r/b", "/r/c", "/r/a"]:
        client.put(k, "1", lease=lease)
    client.put("/r/d", "1", lease=other)
    client.put("/r/e", "1")
    with WatchStream(server.endpoint) as s:
        s.create_and_wait("/r/", prefix_end("/r/"))
        revision = client.revoke(lease).header.revision
        reply = s.next()
    assert reply.events == [(revision, "DELETE", k, b"") for k in (b"/r/a", b"/r/b", b"/r/c")]
    assert sorted(client.range_all("/r/")[1]) == [b"/r/d", b"/r/e"]
    assert client.time_to_live(lease).TTL == -1
    assert rpc_error(client.revoke, lease) == LEASE_NOT_FOUND
    # A lease without keys is revoked without a new revision.
    empty = client.grant(60).ID
    assert client.revoke(empty).header.revision == revision


def test_time_to_live_and_leases(client):
    a = client.grant(60).ID
    b = client.grant(30).ID
    c = client.grant(90).ID
    assert client.leases() == [b, a, c]  # by expiry, soonest first
    client.put("k1", "v", lease=a)
    client.put("k2", "v", lease=a)
    got = client.time_to_live(a, keys=True)
    assert (got.ID, got.grantedTTL, sorted(got.keys)) == (a, 60, [b"k1", b"k2"])
    assert 0 < got.TTL <= 60
    assert list(client.time_to_live(a).keys) == []  # keys only when asked
    # A put without a lease detaches the key; with another lease, moves it.
    client.put("k1", "v")
    client.put("k2", "v", lease=b)
    assert list(client.time_to_live(a, keys=True).keys) == []
    assert list(client.time_to_live(b, keys=True).keys) == [b"k2"]
    unknown = client.time_to_live(0x777, keys=True)
    assert (unknown.ID, unknown.TTL, unknown.grantedTTL, list(unknown.keys)) == (0x777, -1, 0, [])
    assert unknown.header.revision == client.get("k1").header.revision
    client.revoke(a)
    assert client.leases() == [b, c]


def test_unknown_leases_in_put_and_keep_alive(client):
    assert rpc_error(client.put, "k", "v", lease=0x999) == LEASE_NOT_FOUND
    assert rpc_error(client.txn, [put_op("k", "v", lease=0x999)]) == LEASE_NOT_FOUND
    assert list(client.get("k").kvs) == []
    lease = client.grant(20).ID
    # One stream, three keep-alives: answered in order; TTL 0 for the unknown one.
    got = client.keep_alive([lease, 0x999, lease])
    assert [(r.ID, r.TTL) for r in got] == [(lease, 20), (0x999, 0), (lease, 20)]
    assert got[0].header.revision == client.get("k").header.revision
    client.revoke(lease)
    assert client.keep_alive_once(lease).TTL == 0


def test_leases_survive_a_whole_cluster_restart(tmp_path):
    granted = 60
    with Cluster(tmp_path, 3, extra_args=FLAGS) as cluster:
        wait_for_leader(cluster.members, ELECTION_DEADLINE)
        with Client(cluster.members[0].endpoint) as c:
            lease = c.grant(granted).ID
            c.put("/rs/k", "v", lease=lease)
            # Let some of the TTL run out first.
            before = wait_until(lambda: (lambda t: t if t <= granted - 4 else None)(
                c.time_to_live(lease).TTL), timeout=30, what="the remaining TTL to drop")
        for m in cluster.members:
            m.kill9()
        cluster.start()
        wait_for_leader(cluster.members, ELECTION_DEADLINE)
        for m in cluster.members:
            with Client(m.endpoint) as c:
                got = wait_until(lambda: c.time_to_live(lease, keys=True), timeout=10,
                                 what="TimeToLive on %s" % m.name)
                assert (got.grantedTTL, list(got.keys)) == (granted, [b"/rs/k"])
                # Without checkpoints the remaining TTL starts over (plus the
                # election timeout the new leader grants).
                assert before < got.TTL <= granted + ELECTION_MS / 1000, (before, got.TTL)
                assert lease in c.leases()
                assert c.value("/rs/k", serializable=True)[0] == b"v"


@pytest.mark.skipif(is_real_etcd(), reason="etcd 3.4 has no flag for the checkpoint interval")
def test_checkpointed_remaining_ttl_survives_a_restart(tmp_path):
    # With --experimental-enable-lease-checkpoint the leader records each
    # lease's remaining TTL through Raft (here every second), so a restart
    # resumes from the last checkpoint instead of the granted TTL.
    granted = 60
    flags = FLAGS + ["--experimental-enable-lease-checkpoint",
                     "--experimental-lease-checkpoint-interval", "1s"]
    with Server(tmp_path, extra_args=flags) as s:
        with Client(s.endpoint) as c:
            lease = c.grant(granted).ID
            wait_until(lambda: c.time_to_live(lease).TTL <= granted - 10, timeout=30,
                       what="the remaining TTL to drop")
        s.kill9()
        s.restart()
        with Client(s.endpoint) as c:
            got = wait_until(lambda: c.time_to_live(lease), timeout=10, what="TimeToLive")
            # The last checkpoint is at most ~2 s old; the new leader adds the
            # election timeout. Without checkpoints it would be back at 60.
            assert got.TTL <= granted - 5, got.TTL
