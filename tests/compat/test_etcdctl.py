"""The real etcdctl 3.4 (ETCDCTL_API=3) against a real server.

Outputs are asserted byte for byte where etcd's are deterministic: a fresh
store starts at revision 1, ids follow from the peer URL. Run against etcd
itself with ETCDD_BIN=/usr/bin/etcd to check the expectations.
"""

import re

from conftest import b64

# Written by seed(): key, value, revision of the write.
SEED = [("a", "3", 2), ("b", "1", 3), ("c", "2", 4), ("foo", "x", 5), ("foo/bar", "y", 6),
        ("fop", "z", 7), ("b", "9", 8)]


def seed(etcdctl):
    for key, value, _ in SEED:
        assert etcdctl.ok("put", key, value) == "OK\n"


def simple(*pairs):
    """etcdctl's simple output: key and value lines."""
    return "".join("%s\n%s\n" % p for p in pairs)


def keys_only(*keys):
    return "".join("%s\n\n" % k for k in keys)


def kv_json(key, value, create, mod, version):
    kv = {"key": b64(key), "create_revision": create, "mod_revision": mod, "version": version}
    if value is not None:
        kv["value"] = b64(value)
    return kv


# ---- put / get


def test_put_and_get_simple(etcdctl):
    assert etcdctl.ok("put", "a", "1") == "OK\n"
    assert etcdctl.ok("get", "a") == "a\n1\n"
    assert etcdctl.ok("put", "a", "2", "--prev-kv") == "OK\na\n1\n"
    assert etcdctl.ok("get", "a") == "a\n2\n"
    assert etcdctl.ok("get", "missing") == ""


def test_put_value_from_stdin(etcdctl):
    assert etcdctl.ok("put", "k", input="from stdin") == "OK\n"
    assert etcdctl.ok("get", "k", "--print-value-only") == "from stdin\n"


def test_put_and_get_json(etcdctl, cluster):
    assert etcdctl.json("put", "a", "1") == {"header": cluster.header(2)}
    assert etcdctl.json("put", "a", "22") == {"header": cluster.header(3)}
    assert etcdctl.json("get", "a") == {
        "header": cluster.header(3),
        "kvs": [kv_json("a", "22", 2, 3, 2)],
        "count": 1,
    }
    assert etcdctl.json("get", "missing") == {"header": cluster.header(3)}


def test_get_fields(etcdctl, cluster):
    etcdctl.ok("put", "a", "1")
    head = ('"ClusterID" : %d\n"MemberID" : %d\n"Revision" : 2\n"RaftTerm" : %d\n'
            % (cluster.cluster_id, cluster.member_id, cluster.term))
    assert etcdctl.ok("get", "a", "-w", "fields") == head + (
        '"Key" : "a"\n"CreateRevision" : 2\n"ModRevision" : 2\n"Version" : 1\n'
        '"Value" : "1"\n"Lease" : 0\n"More" : false\n"Count" : 1\n')
    assert etcdctl.ok("get", "missing", "-w", "fields") == head + '"More" : false\n"Count" : 0\n'


def test_get_range_flags(etcdctl):
    seed(etcdctl)
    everything = simple(("a", "3"), ("b", "9"), ("c", "2"), ("foo", "x"), ("foo/bar", "y"),
                        ("fop", "z"))
    assert etcdctl.ok("get", "--prefix", "") == everything
    assert etcdctl.ok("get", "--from-key", "") == everything
    assert etcdctl.ok("get", "--prefix", "foo") == simple(("foo", "x"), ("foo/bar", "y"))
    assert etcdctl.ok("get", "--from-key", "c") == simple(("c", "2"), ("foo", "x"),
                                                          ("foo/bar", "y"), ("fop", "z"))
    assert etcdctl.ok("get", "a", "c") == simple(("a", "3"), ("b", "9"))
    assert etcdctl.ok("get", "foo", "foo0") == simple(("foo", "x"), ("foo/bar", "y"))
    assert etcdctl.ok("get", "--prefix", "", "--limit", "2") == simple(("a", "3"), ("b", "9"))
    assert etcdctl.ok("get", "--prefix", "", "--consistency=s") == everything
    assert etcdctl.ok("get", "--prefix", "foo", "--keys-only") == keys_only("foo", "foo/bar")
    assert etcdctl.ok("get", "--prefix", "f", "--print-value-only") == "x\ny\nz\n"


def test_get_at_revision(etcdctl):
    seed(etcdctl)
    assert etcdctl.ok("get", "--prefix", "", "--rev", "3") == simple(("a", "3"), ("b", "1"))
    assert etcdctl.ok("get", "b", "--rev", "7") == simple(("b", "1"))
    assert etcdctl.ok("get", "b", "--rev", "8") == simple(("b", "9"))
    assert etcdctl.ok("get", "b", "--rev", "1") == ""


def test_get_sorted(etcdctl):
    seed(etcdctl)
    get = lambda *flags: etcdctl.ok("get", "--prefix", "", *flags)  # noqa: E731
    assert get("--sort-by=VALUE") == simple(("c", "2"), ("a", "3"), ("b", "9"), ("foo", "x"),
                                            ("foo/bar", "y"), ("fop", "z"))
    assert get("--sort-by=MODIFY", "--order=DESCEND", "--print-value-only") == \
        "9\nz\ny\nx\n2\n3\n"
    assert get("--order=DESCEND", "--limit=2") == simple(("fop", "z"), ("foo/bar", "y"))
    assert get("--sort-by=VERSION", "--order=DESCEND", "--keys-only") == \
        keys_only("b", "a", "c", "foo", "foo/bar", "fop")
    assert get("--sort-by=CREATE", "--order=DESCEND", "--keys-only", "--limit", "3") == \
        keys_only("fop", "foo/bar", "foo")
    assert get("--sort-by=KEY", "--order=ASCEND", "--keys-only", "--limit", "2") == \
        keys_only("a", "b")


def test_get_json_limit_and_keys_only(etcdctl, cluster):
    seed(etcdctl)
    assert etcdctl.json("get", "--prefix", "", "--limit", "1") == {
        "header": cluster.header(8),
        "kvs": [kv_json("a", "3", 2, 2, 1)],
        "more": True,
        "count": 6,
    }
    assert etcdctl.json("get", "--prefix", "foo", "--keys-only") == {
        "header": cluster.header(8),
        "kvs": [kv_json("foo", None, 5, 5, 1), kv_json("foo/bar", None, 6, 6, 1)],
        "count": 2,
    }


def test_get_fields_with_more(etcdctl, cluster):
    seed(etcdctl)
    out = etcdctl.ok("get", "--prefix", "", "--consistency=s", "-w", "fields", "--limit", "1")
    assert out == (
        '"ClusterID" : %d\n"MemberID" : %d\n"Revision" : 8\n"RaftTerm" : %d\n'
        '"Key" : "a"\n"CreateRevision" : 2\n"ModRevision" : 2\n"Version" : 1\n'
        '"Value" : "3"\n"Lease" : 0\n"More" : true\n"Count" : 6\n'
        % (cluster.cluster_id, cluster.member_id, cluster.term))


# ---- del


def test_del(etcdctl, cluster):
    seed(etcdctl)
    assert etcdctl.ok("del", "missing") == "0\n"
    assert etcdctl.ok("del", "foo", "--prefix", "--prev-kv") == "2\nfoo\nx\nfoo/bar\ny\n"
    assert etcdctl.ok("del", "a", "c") == "2\n"
    assert etcdctl.ok("get", "--prefix", "", "--keys-only") == keys_only("c", "fop")
    assert etcdctl.json("del", "c", "--prev-kv") == {
        "header": cluster.header(11),
        "deleted": 1,
        "prev_kvs": [kv_json("c", "2", 4, 4, 1)],
    }
    assert etcdctl.ok("del", "--from-key", "a") == "1\n"
    assert etcdctl.json("del", "missing") == {"header": cluster.header(12)}


def test_delete_then_recreate_resets_version(etcdctl, cluster):
    etcdctl.ok("put", "k", "1")
    etcdctl.ok("put", "k", "2")
    etcdctl.ok("del", "k")
    etcdctl.ok("put", "k", "3")
    assert etcdctl.json("get", "k")["kvs"] == [kv_json("k", "3", 5, 5, 1)]


# ---- txn


def test_txn_success_with_every_compare_target(etcdctl):
    seed(etcdctl)
    script = ('value("a") = "3"\n'
              'version("b") = "2"\n'
              'create("c") = "4"\n'
              'mod("foo") < "100"\n'
              'val("fop") > "y"\n'
              '\n'
              'put x 1\nget a\ndel fop\n'
              '\n'
              'put y 2\n'
              '\n')
    assert etcdctl.ok("txn", input=script) == "SUCCESS\n\nOK\n\na\n3\n\n1\n"
    assert etcdctl.ok("get", "x", "--print-value-only") == "1\n"
    assert etcdctl.ok("get", "y") == ""


def test_txn_failure_branch(etcdctl):
    seed(etcdctl)
    script = 'ver("a") = "7"\nm("b") != "8"\n\nput x 1\n\nput y 2\nget b\n\n'
    assert etcdctl.ok("txn", input=script) == "FAILURE\n\nOK\n\nb\n9\n"
    assert etcdctl.ok("get", "x") == ""
    assert etcdctl.ok("get", "y", "--print-value-only") == "2\n"


def test_txn_without_compares_succeeds(etcdctl):
    assert etcdctl.ok("txn", input="\nput k v\n\n\n") == "SUCCESS\n\nOK\n"


def test_txn_json_and_fields(etcdctl, cluster):
    seed(etcdctl)
    # Failure branch of two reads: no revision bump, "succeeded" omitted.
    out = etcdctl.json("txn", input='value("a") != "3"\n\nput x 1\n\nget a\nget nokey\n\n')
    assert out == {
        "header": cluster.header(8),
        "responses": [
            {"Response": {"ResponseRange": {"header": {"revision": 8},
                                            "kvs": [kv_json("a", "3", 2, 2, 1)],
                                            "count": 1}}},
            {"Response": {"ResponseRange": {"header": {"revision": 8}}}},
        ],
    }
    out = etcdctl.json("txn", input='\ndel c\nput b 10\n\n\n')
    assert out == {
        "header": cluster.header(9),
        "succeeded": True,
        "responses": [
            {"Response": {"ResponseDeleteRange": {"header": {"revision": 9}, "deleted": 1}}},
            {"Response": {"ResponsePut": {"header": {"revision": 9}}}},
        ],
    }
    assert etcdctl.json("get", "b")["kvs"] == [kv_json("b", "10", 3, 9, 3)]
    out = etcdctl.ok("txn", "-w", "fields", input='value("a") = "3"\n\nput x 2\n\n\n')
    assert out == ('"ClusterID" : %d\n"MemberID" : %d\n"Revision" : 10\n"RaftTerm" : %d\n'
                   '"Succeeded" : true\n'
                   '"ClusterID" : 0\n"MemberID" : 0\n"Revision" : 10\n"RaftTerm" : 0\n'
                   % (cluster.cluster_id, cluster.member_id, cluster.term))


def test_txn_same_key_twice_is_rejected(etcdctl):
    duplicate = "Error: etcdserver: duplicate key given in txn request"
    assert etcdctl.error("txn", input="\nput k 1\nput k 2\n\n\n") == duplicate
    assert etcdctl.error("txn", input="\ndel k\nput k 2\n\n\n") == duplicate
    assert etcdctl.error("txn", input="\ndel --prefix a\nput ab 2\n\n\n") == duplicate
    # Reads do not conflict with a write to the same key.
    assert etcdctl.ok("txn", input="\nput k 1\nget k\n\n\n") == "SUCCESS\n\nOK\n\nk\n1\n"


# ---- compaction


def test_compaction(etcdctl):
    seed(etcdctl)
    assert etcdctl.ok("compaction", "5") == "compacted revision 5\n"
    compacted = "Error: etcdserver: mvcc: required revision has been compacted"
    assert etcdctl.error("get", "--prefix", "", "--rev", "4") == compacted
    assert etcdctl.ok("get", "--prefix", "", "--rev", "5", "--keys-only") == \
        keys_only("a", "b", "c", "foo")
    assert etcdctl.ok("get", "b") == simple(("b", "9"))
    assert etcdctl.error("compaction", "5") == compacted
    assert etcdctl.error("compaction", "3") == compacted
    assert etcdctl.error("compaction", "100") == \
        "Error: etcdserver: mvcc: required revision is a future revision"
    assert etcdctl.ok("compaction", "--physical", "8") == "compacted revision 8\n"
    assert etcdctl.ok("get", "--prefix", "", "--rev", "8", "--keys-only") == \
        keys_only("a", "b", "c", "foo", "foo/bar", "fop")


# ---- endpoint status, member list


def test_endpoint_status(etcdctl, cluster):
    etcdctl.ok("put", "a", "1")
    hex_id = "%x" % cluster.member_id
    out = etcdctl.ok("endpoint", "status")
    # endpoint, id, version, db size, is leader, is learner, term, index, applied, errors
    pattern = (r"%s, %s, 3\.\d+\.\d+, \d+(\.\d+)? [kMG]?B, true, false, %d, (\d+), (\d+), \n"
               % (re.escape(cluster.endpoint), hex_id, cluster.term))
    m = re.fullmatch(pattern, out)
    assert m, out
    assert int(m.group(3)) <= int(m.group(2))

    [st] = etcdctl.json("endpoint", "status")
    assert st["Endpoint"] == cluster.endpoint
    status = st["Status"]
    assert status["header"] == cluster.header(2)
    assert status["leader"] == cluster.member_id
    assert status["raftTerm"] == cluster.term
    assert re.fullmatch(r"3\.\d+\.\d+", status["version"])
    assert status["dbSize"] > 0
    assert 0 < status["dbSizeInUse"] <= status["dbSize"]
    assert 0 < status["raftAppliedIndex"] <= status["raftIndex"]
    assert set(status) <= {"header", "version", "dbSize", "leader", "raftIndex", "raftTerm",
                           "raftAppliedIndex", "dbSizeInUse", "errors", "isLearner"}

    lines = etcdctl.ok("endpoint", "status", "-w", "table").splitlines()
    assert len(lines) == 5
    assert re.fullmatch(r"\+(-+\+){10}", lines[0]) and lines[2] == lines[0] == lines[4]
    assert [c.strip() for c in lines[1].strip("|").split("|")] == [
        "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM",
        "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS"]
    row = [c.strip() for c in lines[3].strip("|").split("|")]
    assert row[0:2] == [cluster.endpoint, hex_id]
    assert row[4:7] == ["true", "false", str(cluster.term)]
    assert row[9] == ""


def test_member_list(etcdctl, cluster):
    hex_id = "%x" % cluster.member_id
    assert etcdctl.ok("member", "list") == "%s, started, default, %s, %s, false\n" % (
        hex_id, cluster.peer_url, cluster.client_url)
    assert etcdctl.json("member", "list") == {
        "header": cluster.header(0),
        "members": [{"ID": cluster.member_id, "name": "default", "peerURLs": [cluster.peer_url],
                     "clientURLs": [cluster.client_url]}],
    }
    table = etcdctl.ok("member", "list", "-w", "table").splitlines()
    assert [c.strip() for c in table[1].strip("|").split("|")] == [
        "ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"]
    assert [c.strip() for c in table[3].strip("|").split("|")] == [
        hex_id, "started", "default", cluster.peer_url, cluster.client_url, "false"]


# ---- errors from the server, as etcdctl prints them


def test_empty_key_is_rejected_by_the_server(etcdctl):
    assert etcdctl.error("put", "", "v") == "Error: etcdserver: key is not provided"
    assert etcdctl.error("get", "") == "Error: etcdserver: key is not provided"


def test_request_too_large(etcdctl):
    # Above the server's 1.5 MiB --max-request-bytes, below the client's 2 MiB.
    assert etcdctl.error("put", "big", input="x" * (1600 * 1024)) == \
        "Error: etcdserver: request is too large"
    assert etcdctl.ok("get", "big") == ""


def test_unknown_lease(etcdctl):
    assert etcdctl.error("put", "--lease=1234", "k", "v") == \
        "Error: etcdserver: requested lease not found"


def test_unreachable_endpoint(server):
    from conftest import Etcdctl
    server.kill9()
    ctl = Etcdctl(server.endpoint)
    assert ctl.error("--command-timeout=1s", "get", "a") == "Error: context deadline exceeded"
