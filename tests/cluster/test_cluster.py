"""A 3-member etcdd cluster on loopback: bootstrap from --initial-cluster,
replication, linearizable reads on followers, and failover after kill -9 of
the leader. Real processes, real gRPC peer traffic."""

import os
import sys

import etcd3

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Cluster  # noqa: E402


def client_for(server, timeout=15):
    host, port = server.endpoint.split(":")
    return etcd3.client(host=host, port=int(port), timeout=timeout)


def leader_id(server):
    c = client_for(server)
    try:
        return c.status().leader.id
    finally:
        c.close()


def put_retrying(client, key, value, attempts=5):
    """A put right after the leader dies may be forwarded to the dead leader
    and time out, as in etcd ("request timed out, possibly due to previous
    leader failure"); clients retry."""
    for attempt in range(attempts):
        try:
            return client.put(key, value).header.revision
        except etcd3.exceptions.ConnectionFailedError:
            if attempt == attempts - 1:
                raise
    return None


def test_three_members_replicate_and_fail_over(tmp_path):
    with Cluster(tmp_path, 3) as cluster:
        members = cluster.members
        clients = [client_for(m) for m in members]
        # One cluster: every member lists the same three members and leader.
        # Each member published its client URL through Raft (etcd's publish).
        expected = sorted((m.name, "http://" + m.endpoint) for m in members)
        for c in clients:
            assert sorted((m.name, m.client_urls[0]) for m in c.members) == expected
        leaders = {leader_id(m) for m in members}
        assert len(leaders) == 1 and 0 not in leaders

        # A write through any member is read (linearizably) on every member.
        rev = clients[1].put("/k", "v1").header.revision
        for c in clients:
            value, meta = c.get("/k")
            assert value == b"v1" and meta.mod_revision == rev

        # Kill the leader; the other two elect a new one and keep serving.
        ids = {m.name: m.id for m in clients[0].members}
        leader_member_id = leaders.pop()
        leader = next(m for m in members if ids[m.name] == leader_member_id)
        survivors = [(m, c) for m, c in zip(members, clients) if m is not leader]
        leader.kill9()
        rev2 = put_retrying(survivors[0][1], "/k", "v2")
        assert rev2 > rev
        for _, c in survivors:
            assert c.get("/k")[0] == b"v2"
        new_leader = leader_id(survivors[0][0])
        assert new_leader != 0 and new_leader == leader_id(survivors[1][0])

        # The old leader comes back as a follower and catches up.
        leader.start()
        back = client_for(leader)
        value, meta = back.get("/k")
        assert value == b"v2" and meta.mod_revision == rev2
        back.close()
        for c in clients:
            c.close()
