"""The Lock and Election gRPC services (v3lockpb.Lock, v3electionpb.Election)
on a 3-member cluster, with clients on different members, as etcd's v3lock
and v3election serve them:

- Lock waits for the owner with the lowest create revision and returns once
  it is unlocked or its lease ends; a cancelled Lock removes its key; a Lock
  under an unknown lease fails with "etcdserver: requested lease not found"
  (code UNKNOWN: etcd passes its in-process client's errors on as they are).
- A waiter whose own lease expires while it waits gets "session expired"
  instead of the lock (the re-check etcd added after Jepsen's report; etcd
  3.4 itself lacks it, so that test runs against etcdd only).
- Campaign / Leader / Observe / Proclaim / Resign hand leadership over in
  create-revision order, with etcd's "election: not leader" and "election: no
  leader".

Run against etcd itself: ETCDD_BIN=/usr/bin/etcd /usr/bin/python3 -m pytest -q <this file>
"""

import os
import sys
import threading

import grpc
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcd_rpc import Client, wait_until  # noqa: E402
from etcdd_harness import Cluster, is_real_etcd  # noqa: E402
from proto_stubs import ProtoStubs  # noqa: E402

STUBS = ProtoStubs(["v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"])
LockRequest = STUBS.message("v3lockpb.LockRequest")
UnlockRequest = STUBS.message("v3lockpb.UnlockRequest")
CampaignRequest = STUBS.message("v3electionpb.CampaignRequest")
ProclaimRequest = STUBS.message("v3electionpb.ProclaimRequest")
LeaderRequest = STUBS.message("v3electionpb.LeaderRequest")
ResignRequest = STUBS.message("v3electionpb.ResignRequest")
WAIT = 30  # seconds; a deadline for waiting only


class Recipes:
    """The two services on one member's channel."""

    def __init__(self, client):
        ch = client.channel
        self.lock = STUBS.unary(ch, "/v3lockpb.Lock/Lock", "v3lockpb.LockResponse")
        self.unlock = STUBS.unary(ch, "/v3lockpb.Lock/Unlock", "v3lockpb.UnlockResponse")
        self.campaign = STUBS.unary(ch, "/v3electionpb.Election/Campaign",
                                    "v3electionpb.CampaignResponse")
        self.proclaim = STUBS.unary(ch, "/v3electionpb.Election/Proclaim",
                                    "v3electionpb.ProclaimResponse")
        self.leader = STUBS.unary(ch, "/v3electionpb.Election/Leader",
                                  "v3electionpb.LeaderResponse")
        self.resign = STUBS.unary(ch, "/v3electionpb.Election/Resign",
                                  "v3electionpb.ResignResponse")
        self.observe = STUBS.server_stream(ch, "/v3electionpb.Election/Observe",
                                           "v3electionpb.LeaderResponse")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("recipes"), 3) as c:
        clients = [Client(m.endpoint) for m in c.members]
        yield clients
        for cl in clients:
            cl.close()


def keys_under(client, prefix):
    return sorted(client.range_all(prefix=prefix)[1])


def test_lock_waits_for_owner_across_members(cluster):
    a, b = cluster[0], cluster[1]
    la, lb = a.grant(60).ID, b.grant(60).ID
    held = Recipes(a).lock(LockRequest(name=b"job", lease=la), timeout=WAIT)
    assert held.key == b"job/%x" % la
    waiting = Recipes(b).lock.future(LockRequest(name=b"job", lease=lb), timeout=WAIT)
    # B has queued its key and must wait behind A.
    wait_until(lambda: b"job/%x" % lb in keys_under(b, b"job/"), WAIT, "B's lock key")
    assert not waiting.done()
    unlocked = Recipes(a).unlock(UnlockRequest(key=held.key), timeout=WAIT)
    got = waiting.result(timeout=WAIT)
    assert got.key == b"job/%x" % lb
    assert got.header.revision >= unlocked.header.revision
    Recipes(b).unlock(UnlockRequest(key=got.key), timeout=WAIT)
    assert keys_under(a, b"job/") == []


def test_lock_passes_on_when_holder_lease_expires(cluster):
    a, c = cluster[0], cluster[2]
    short, long_ = a.grant(2).ID, c.grant(60).ID
    Recipes(a).lock(LockRequest(name=b"exp", lease=short), timeout=WAIT)
    # Nobody keeps `short` alive: its key goes with it and C gets the lock.
    got = Recipes(c).lock(LockRequest(name=b"exp", lease=long_), timeout=WAIT)
    assert got.key == b"exp/%x" % long_
    assert keys_under(c, b"exp/") == [got.key]
    c.revoke(long_)


def test_cancelled_lock_removes_its_key(cluster):
    a, b = cluster[0], cluster[1]
    la, lb = a.grant(60).ID, b.grant(60).ID
    held = Recipes(a).lock(LockRequest(name=b"cancel", lease=la), timeout=WAIT)
    waiting = Recipes(b).lock.future(LockRequest(name=b"cancel", lease=lb))
    wait_until(lambda: len(keys_under(b, b"cancel/")) == 2, WAIT, "the waiter's key")
    waiting.cancel()
    wait_until(lambda: keys_under(b, b"cancel/") == [held.key], WAIT,
               "the cancelled waiter's key to be deleted")
    a.revoke(la)
    b.revoke(lb)


def test_lock_with_unknown_lease(cluster):
    with pytest.raises(grpc.RpcError) as e:
        Recipes(cluster[0]).lock(LockRequest(name=b"x", lease=0x1234), timeout=WAIT)
    # etcd's v3lock passes its client's error on: gRPC sends it as UNKNOWN.
    assert e.value.code() == grpc.StatusCode.UNKNOWN
    assert e.value.details() == "etcdserver: requested lease not found"


@pytest.mark.skipif(is_real_etcd(), reason="etcd 3.4 does not re-check the lease after waiting")
def test_waiter_whose_lease_expired_gets_session_expired(cluster):
    a, b = cluster[0], cluster[1]
    la, lb = a.grant(60).ID, b.grant(2).ID
    held = Recipes(a).lock(LockRequest(name=b"jepsen", lease=la), timeout=WAIT)
    waiting = Recipes(b).lock.future(LockRequest(name=b"jepsen", lease=lb), timeout=WAIT)
    # B's lease ends while it waits: its key is deleted with it.
    wait_until(lambda: a.time_to_live(lb).TTL == -1, WAIT, "B's lease to expire")
    assert keys_under(a, b"jepsen/") == [held.key]
    Recipes(a).unlock(UnlockRequest(key=held.key), timeout=WAIT)
    with pytest.raises(grpc.RpcError) as e:
        waiting.result(timeout=WAIT)
    assert e.value.code() == grpc.StatusCode.UNKNOWN
    assert e.value.details() == "session expired"
    assert keys_under(a, b"jepsen/") == []
    a.revoke(la)


def test_election_hand_over(cluster):
    a, b = cluster[0], cluster[1]
    ra, rb = Recipes(a), Recipes(b)
    with pytest.raises(grpc.RpcError) as e:
        ra.leader(LeaderRequest(name=b"svc"), timeout=WAIT)
    assert e.value.details() == "election: no leader"
    la, lb = a.grant(60).ID, b.grant(60).ID
    won = ra.campaign(CampaignRequest(name=b"svc", lease=la, value=b"a"), timeout=WAIT)
    assert won.leader.key == b"svc/%x" % la and won.leader.lease == la
    assert won.leader.rev == won.header.revision
    assert ra.leader(LeaderRequest(name=b"svc"), timeout=WAIT).kv.value == b"a"

    observed = []
    seen = threading.Condition()
    stream = rb.observe(LeaderRequest(name=b"svc"), timeout=WAIT * 2)

    def read():
        try:
            for resp in stream:
                with seen:
                    observed.append(resp.kv.value)
                    seen.notify_all()
        except grpc.RpcError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def wait_observed(values):
        with seen:
            assert seen.wait_for(lambda: observed == values, WAIT), observed

    wait_observed([b"a"])
    second = rb.campaign.future(CampaignRequest(name=b"svc", lease=lb, value=b"b"),
                                timeout=WAIT)
    wait_until(lambda: len(keys_under(b, b"svc/")) == 2, WAIT, "the second candidate")
    assert not second.done()
    ra.proclaim(ProclaimRequest(leader=won.leader, value=b"a2"), timeout=WAIT)
    wait_observed([b"a", b"a2"])
    stale = type(won.leader)(name=won.leader.name, key=won.leader.key,
                             rev=won.leader.rev + 1000, lease=la)
    with pytest.raises(grpc.RpcError) as e:
        ra.proclaim(ProclaimRequest(leader=stale, value=b"x"), timeout=WAIT)
    assert e.value.details() == "election: not leader"
    ra.resign(ResignRequest(leader=won.leader), timeout=WAIT)
    now = second.result(timeout=WAIT)
    assert now.leader.key == b"svc/%x" % lb
    wait_observed([b"a", b"a2", b"b"])
    assert rb.leader(LeaderRequest(name=b"svc"), timeout=WAIT).kv.value == b"b"
    stream.cancel()
    reader.join(WAIT)
    a.revoke(la)
    b.revoke(lb)
