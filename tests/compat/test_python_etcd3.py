"""Python's etcd3 client (Debian python3-etcd3 0.12) against a real server,
plus raw gRPC calls (with that package's generated stubs) for requests that
etcd3 and etcdctl 3.4 cannot make: count_only, limit and revision (etcd3 0.12
drops them), lease compares (etcdctl 3.4 panics on them), server-side errors.

Run against etcd itself with ETCDD_BIN=/usr/bin/etcd to check expectations.
"""

import grpc
import pytest

import etcd3
import etcd3.etcdrpc as rpc
from etcd_rpc import wait_until
from etcdd_harness import Cluster, free_port


@pytest.fixture
def client(server):
    host, port = server.endpoint.rsplit(":", 1)
    c = etcd3.client(host=host, port=int(port), timeout=10)
    yield c
    c.close()


@pytest.fixture
def channel(server):
    ch = grpc.insecure_channel(server.endpoint)
    yield ch
    ch.close()


def rpc_error(fn, *args):
    with pytest.raises(grpc.RpcError) as info:
        fn(*args, timeout=10)
    return info.value.code(), info.value.details()


def test_put_get_delete(client, cluster):
    client.put("k", "v1")
    value, meta = client.get("k")
    assert value == b"v1"
    assert (meta.key, meta.create_revision, meta.mod_revision, meta.version, meta.lease_id) == \
        (b"k", 2, 2, 1, 0)
    assert meta.response_header.revision == 2
    assert meta.response_header.member_id == cluster.member_id
    assert meta.response_header.cluster_id == cluster.cluster_id

    prev = client.put("k", "v2", prev_kv=True)
    assert prev.prev_kv.value == b"v1" and prev.header.revision == 3
    assert client.get("k")[0] == b"v2"
    assert client.get("missing") == (None, None)

    assert client.delete("k") is True
    assert client.delete("k") is False
    resp = client.delete("missing", return_response=True)
    assert resp.deleted == 0 and resp.header.revision == 4


def test_get_prefix_and_range(client):
    for k in ["a", "p/1", "p/2", "p/3", "q"]:
        client.put(k, k.upper())
    got = [(v, m.key) for v, m in client.get_prefix("p/")]
    assert got == [(b"P/1", b"p/1"), (b"P/2", b"p/2"), (b"P/3", b"p/3")]
    got = [m.key for _, m in client.get_prefix("p/", sort_order="descend")]
    assert got == [b"p/3", b"p/2", b"p/1"]
    got = [m.key for _, m in client.get_range("a", "p/3")]
    assert got == [b"a", b"p/1", b"p/2"]
    got = [m.key for _, m in client.get_all()]
    assert got == [b"a", b"p/1", b"p/2", b"p/3", b"q"]
    resp = client.get_prefix_response("p/")
    assert resp.count == 3 and resp.more is False and resp.header.revision == 6
    assert client.delete_prefix("p/").deleted == 3
    assert [m.key for _, m in client.get_all()] == [b"a", b"q"]


def test_transaction_with_compares(client):
    client.put("k", "v")  # rev 2
    client.put("other", "o")  # rev 3
    t = client.transactions
    ok, responses = client.transaction(
        compare=[t.value("k") == "v", t.version("k") == 1, t.create("k") == 2,
                 t.mod("other") > 2, t.value("k") != "x", t.version("nokey") < 1],
        success=[t.put("k", "v2"), t.get("other"), t.delete("other")],
        failure=[t.put("failed", "1")],
    )
    assert ok is True
    assert responses[0].response_put.header.revision == 4
    [(value, meta)] = responses[1]
    assert value == b"o" and meta.key == b"other"
    assert responses[2].response_delete_range.deleted == 1
    assert client.get("k")[0] == b"v2"
    assert client.get("other") == (None, None)

    ok, responses = client.transaction(
        compare=[t.value("k") == "v"],
        success=[t.put("never", "1")],
        failure=[t.put("failed", "1"), t.get("k")],
    )
    assert ok is False
    assert responses[1][0][0] == b"v2"
    assert client.get("failed")[0] == b"1"
    assert client.get("never") == (None, None)


def test_replace_and_put_if_not_exists(client):
    assert client.put_if_not_exists("k", "1") is True
    assert client.put_if_not_exists("k", "2") is False
    assert client.replace("k", "1", "3") is True
    assert client.replace("k", "1", "4") is False
    assert client.get("k")[0] == b"3"


def test_status_and_members(client, cluster):
    client.put("a", "1")
    status = client.status()
    assert status.leader is not None and status.leader.id == cluster.member_id
    assert status.raft_term == cluster.term
    assert status.db_size > 0
    assert status.raft_index > 0
    assert status.version.startswith("3.")
    [member] = list(client.members)
    assert member.id == cluster.member_id
    assert member.name == "default"
    assert list(member.peer_urls) == [cluster.peer_url]
    assert list(member.client_urls) == [cluster.client_url]


def test_compact(client):
    for i in range(5):
        client.put("k", str(i))  # revs 2..6
    client.compact(4)
    assert client.get("k")[0] == b"4"
    # python-etcd3 0.12 drops a Range's revision; reads at old revisions are
    # covered by test_raw_compaction_errors.
    with pytest.raises(grpc.RpcError) as info:
        client.compact(3)
    assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert info.value.details() == "etcdserver: mvcc: required revision has been compacted"


def test_raw_count_only_and_keys_only(channel):
    kv = rpc.KVStub(channel)
    for k in ["a", "b", "c"]:
        kv.Put(rpc.PutRequest(key=k.encode(), value=b"v"), timeout=10)
    resp = kv.Range(rpc.RangeRequest(key=b"a", range_end=b"z", count_only=True), timeout=10)
    assert resp.count == 3 and len(resp.kvs) == 0 and resp.header.revision == 4
    resp = kv.Range(rpc.RangeRequest(key=b"a", range_end=b"z", keys_only=True, limit=2),
                    timeout=10)
    assert [(x.key, x.value) for x in resp.kvs] == [(b"a", b""), (b"b", b"")]
    assert resp.more and resp.count == 3
    resp = kv.Range(rpc.RangeRequest(key=b"\0", range_end=b"\0", min_mod_revision=3,
                                     max_mod_revision=3), timeout=10)
    assert [x.key for x in resp.kvs] == [b"b"]


def test_raw_lease_compare(channel):
    kv = rpc.KVStub(channel)
    kv.Put(rpc.PutRequest(key=b"k", value=b"v"), timeout=10)
    cmp = rpc.Compare(key=b"k", target=rpc.Compare.LEASE, result=rpc.Compare.EQUAL, lease=0)
    put = rpc.RequestOp(request_put=rpc.PutRequest(key=b"x", value=b"1"))
    resp = kv.Txn(rpc.TxnRequest(compare=[cmp], success=[put]), timeout=10)
    assert resp.succeeded and resp.header.revision == 3
    cmp.lease = 5
    resp = kv.Txn(rpc.TxnRequest(compare=[cmp], success=[put]), timeout=10)
    assert not resp.succeeded and resp.header.revision == 3


def test_raw_server_errors(channel):
    kv = rpc.KVStub(channel)
    assert rpc_error(kv.Put, rpc.PutRequest(key=b"", value=b"v")) == \
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key is not provided")
    assert rpc_error(kv.Range, rpc.RangeRequest(key=b"")) == \
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key is not provided")
    assert rpc_error(kv.DeleteRange, rpc.DeleteRangeRequest(key=b"")) == \
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key is not provided")
    assert rpc_error(kv.Put, rpc.PutRequest(key=b"k", value=b"x" * (1600 * 1024))) == \
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large")
    # Past the gRPC limit (max request + 512 KiB): refused by gRPC itself, whose
    # wording depends on the gRPC implementation.
    code, _ = rpc_error(kv.Put, rpc.PutRequest(key=b"k", value=b"x" * (2 * 1024 * 1024 + 1)))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert rpc_error(kv.Put, rpc.PutRequest(key=b"k", value=b"v", lease=1234)) == \
        (grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found")
    assert rpc_error(kv.Put, rpc.PutRequest(key=b"nokey", ignore_value=True)) == \
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key not found")


def test_raw_compaction_errors(channel):
    kv = rpc.KVStub(channel)
    for i in range(4):
        kv.Put(rpc.PutRequest(key=b"k", value=str(i).encode()), timeout=10)  # revs 2..5
    kv.Compact(rpc.CompactionRequest(revision=4, physical=True), timeout=10)
    compacted = (grpc.StatusCode.OUT_OF_RANGE,
                 "etcdserver: mvcc: required revision has been compacted")
    assert rpc_error(kv.Range, rpc.RangeRequest(key=b"k", revision=3)) == compacted
    assert rpc_error(kv.Compact, rpc.CompactionRequest(revision=4)) == compacted
    assert rpc_error(kv.Range, rpc.RangeRequest(key=b"k", revision=6)) == \
        (grpc.StatusCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
    assert kv.Range(rpc.RangeRequest(key=b"k", revision=4), timeout=10).kvs[0].value == b"2"


def test_member_changes_on_a_cluster(tmp_path):
    """etcd3's member calls on a 3-member cluster: add a fourth (never
    started: 3 of 4 voters still make a quorum), update its peer URL, list,
    remove it."""
    with Cluster(tmp_path, 3) as c:
        host, port = c.members[0].endpoint.rsplit(":", 1)
        client = etcd3.client(host=host, port=int(port), timeout=10)
        added_url = "http://127.0.0.1:%d" % free_port()

        def add():
            try:
                return client.add_member([added_url])
            except etcd3.exceptions.ConnectionFailedError:
                # etcd3 reports UNAVAILABLE so: etcd counts a peer as
                # connected only 5 s after its stream came up and refuses
                # with "etcdserver: unhealthy cluster" until then.
                return None
        added = wait_until(add, timeout=30, what="member add")
        assert list(added.peer_urls) == [added_url]
        members = {m.id: m for m in client.members}
        assert len(members) == 4 and added.id in members
        assert members[added.id].name == ""  # not started: no name published yet

        new_url = "http://127.0.0.1:%d" % free_port()
        client.update_member(added.id, [new_url])
        assert list({m.id: m for m in client.members}[added.id].peer_urls) == [new_url]

        client.remove_member(added.id)
        assert sorted(m.name for m in client.members) == ["m0", "m1", "m2"]
        # etcd3 0.12 passes this error through as the raw gRPC one.
        with pytest.raises(grpc.RpcError) as e:
            client.remove_member(added.id)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert e.value.details() == "etcdserver: member not found"
        client.close()
