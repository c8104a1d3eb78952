"""`kvbackup restore`: the way in from etcd. A workload is written to real
etcd 3.4, saved with the real `etcdctl snapshot save`, restored with
`kvbackup restore` and started as etcdd: every key (with its revisions,
version and lease), the revision, the compact revision, the HashKV and the
leases are etcd's. Then etcdutl's --bump-revision/--mark-compacted, and bad
input: each gets its clear error, a non-zero exit, and nothing is left at the
data dir.
"""

import base64
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from etcdd_harness import Server, free_port  # noqa: E402

BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
KVBACKUP = os.environ.get("KVBACKUP_BIN", os.path.join(BUILD, "cmd", "kvbackup", "kvbackup"))
ETCDD = os.environ.get("ETCDD_BIN", os.path.join(BUILD, "cmd", "etcdd", "etcdd"))
ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"

pytestmark = pytest.mark.skipif(not os.path.exists(ETCD), reason="needs etcd 3.4 (/usr/bin/etcd)")


def etcdctl(endpoint, *args, stdin=None):
    return subprocess.run([ETCDCTL, "--endpoints", endpoint, *args], input=stdin,
                          capture_output=True, text=True, check=True, timeout=30,
                          env=dict(os.environ, ETCDCTL_API="3")).stdout


def workload(endpoint):
    """Puts, overwrites, deletes, a txn, a leased key, a compaction, then
    more history after it."""
    for i in range(200):
        etcdctl(endpoint, "put", "/w/%03d" % i, "v%d" % i)
    for i in range(0, 200, 3):
        etcdctl(endpoint, "put", "/w/%03d" % i, "again%d" % i)
    for i in range(0, 200, 7):
        etcdctl(endpoint, "del", "/w/%03d" % i)
    etcdctl(endpoint, "txn", stdin='value("/w/001") = "v1"\n\nput /t/a 1\nput /t/b 2\n\n\n')
    lease = etcdctl(endpoint, "lease", "grant", "600").split()[1]
    etcdctl(endpoint, "put", "/leased", "x", "--lease", lease)
    etcdctl(endpoint, "put", "/big", "b" * 10000)
    status = json.loads(etcdctl(endpoint, "endpoint", "status", "-w", "json"))
    etcdctl(endpoint, "compact", str(status[0]["Status"]["header"]["revision"] - 50))
    for i in range(20):
        etcdctl(endpoint, "put", "/after/%d" % i, str(i))
    return lease


def observe(endpoint):
    """What must survive the move: every key with its metadata, and the
    hash of the history."""
    kvs = json.loads(etcdctl(endpoint, "get", "", "--from-key", "-w", "json"))
    hashkv = json.loads(etcdctl(endpoint, "endpoint", "hashkv", "-w", "json"))[0]["HashKV"]
    return {"revision": kvs["header"]["revision"], "kvs": kvs["kvs"],
            "hash": hashkv["hash"], "compact_revision": hashkv["compact_revision"]}


@pytest.fixture(scope="module")
def etcd_snapshot(tmp_path_factory):
    """A snapshot of real etcd after the workload, and what etcd served."""
    tmp = tmp_path_factory.mktemp("etcd")
    etcd = Server(tmp, name="e1", binary=ETCD).start()
    try:
        lease = workload(etcd.endpoint)
        seen = observe(etcd.endpoint)
        path = str(tmp / "etcd.db")
        etcdctl(etcd.endpoint, "snapshot", "save", path)
    finally:
        etcd.kill9()
    return path, seen, lease


def restore(snapshot, server, *extra):
    peer = "http://127.0.0.1:%d" % server.peer_port
    return subprocess.run([KVBACKUP, "restore", snapshot, "--data-dir", server.data_dir,
                           "--name", server.name, "--initial-cluster", "%s=%s" % (server.name, peer),
                           "--initial-advertise-peer-urls", peer, *extra],
                          capture_output=True, text=True, timeout=120)


def test_etcd_snapshot_restored_into_etcdd_serves_what_etcd_served(etcd_snapshot, tmp_path):
    snapshot, seen, lease = etcd_snapshot
    server = Server(tmp_path, name="m1", binary=ETCDD)
    r = restore(snapshot, server, "-w", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["revision"] == seen["revision"]
    assert out["compact_revision"] == seen["compact_revision"]
    assert out["leases"] == 1
    server.start()
    try:
        assert observe(server.endpoint) == seen
        ttl = json.loads(etcdctl(server.endpoint, "lease", "timetolive", lease, "--keys",
                                 "-w", "json"))
        assert ttl["ttl"] > 0
        assert [base64.b64decode(k) for k in ttl["keys"]] == [b"/leased"]
        # The restored member takes writes at the next revision.
        put = json.loads(etcdctl(server.endpoint, "put", "/new", "1", "-w", "json"))
        assert put["header"]["revision"] == seen["revision"] + 1
    finally:
        server.stop()


def test_bump_revision_and_mark_compacted(etcd_snapshot, tmp_path):
    snapshot, seen, _ = etcd_snapshot
    server = Server(tmp_path, name="m1", binary=ETCDD)
    r = restore(snapshot, server, "--bump-revision", "1000")
    assert r.returncode != 0
    assert "--mark-compacted required if --bump-revision > 0" in r.stderr
    assert not os.path.exists(server.data_dir)
    r = restore(snapshot, server, "--bump-revision", "1000", "--mark-compacted", "-w", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["revision"] == seen["revision"] + 1000
    server.start()
    try:
        got = json.loads(etcdctl(server.endpoint, "get", "", "--from-key", "-w", "json"))
        assert got["header"]["revision"] == seen["revision"] + 1000
        assert [kv["key"] for kv in got["kvs"]] == [kv["key"] for kv in seen["kvs"]]
        old = subprocess.run([ETCDCTL, "--endpoints", server.endpoint, "get", "/w/001",
                              "--rev", str(seen["revision"])], capture_output=True, text=True,
                             env=dict(os.environ, ETCDCTL_API="3"), timeout=30)
        assert "required revision has been compacted" in old.stderr
    finally:
        server.stop()


def damaged(snapshot, tmp_path, name, mutate):
    data = bytearray(open(snapshot, "rb").read())
    data = mutate(data)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return str(path)


def flip(offset):
    def f(data):
        data[offset] ^= 0x40
        return data
    return f


def expect_refused(snapshot, tmp_path, needle, *extra):
    server = Server(tmp_path, name="m1", binary=ETCDD)
    r = restore(snapshot, server, *extra)
    assert r.returncode != 0, r.stdout
    assert needle in r.stderr, r.stderr
    assert not os.path.exists(server.data_dir)
    assert not [n for n in os.listdir(tmp_path) if "restore-tmp" in n]


def test_a_digest_mismatch_is_refused(etcd_snapshot, tmp_path):
    snapshot, _, _ = etcd_snapshot
    bad = damaged(snapshot, tmp_path, "flipped.db", flip(9000))
    expect_refused(bad, tmp_path, "sha256 mismatch")


def test_a_file_without_digest_needs_skip_hash_check(etcd_snapshot, tmp_path):
    snapshot, seen, _ = etcd_snapshot
    bare = damaged(snapshot, tmp_path, "bare.db", lambda d: d[:-32])
    expect_refused(bare, tmp_path, "snapshot missing hash but --skip-hash-check=false")
    server = Server(tmp_path, name="m1", binary=ETCDD)
    r = restore(bare, server, "--skip-hash-check", "-w", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["revision"] == seen["revision"]


@pytest.mark.parametrize("cut", [100, 4096, 8192, 12000, -4096 - 32])
def test_a_truncated_snapshot_is_refused_naming_the_file(etcd_snapshot, tmp_path, cut):
    snapshot, _, _ = etcd_snapshot
    bad = damaged(snapshot, tmp_path, "cut.db", lambda d: d[:cut])
    expect_refused(bad, tmp_path, "cut.db", "--skip-hash-check")


def test_a_damaged_page_is_refused(etcd_snapshot, tmp_path):
    snapshot, _, _ = etcd_snapshot
    # Every page header past the metas and freelist: flip its flags byte.
    def pages(d):
        for off in range(3 * 4096 + 8, len(d) - 32, 4096):
            d[off] ^= 0xff
        return d
    bad = damaged(snapshot, tmp_path, "pages.db", pages)
    expect_refused(bad, tmp_path, "pages.db", "--skip-hash-check")


def test_random_bytes_and_an_lmdb_file_are_not_snapshots(etcd_snapshot, tmp_path):
    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(64 * 1024))
    expect_refused(str(noise), tmp_path, "noise.db", "--skip-hash-check")
    lmdb_dir = tmp_path / "lmdb"
    server = Server(lmdb_dir, name="x", binary=ETCDD).start()
    server.stop()
    mdb = os.path.join(server.data_dir, "member", "db", "data.mdb")
    expect_refused(mdb, tmp_path, "data.mdb", "--skip-hash-check")


def test_a_non_empty_data_dir_is_refused_and_kept(etcd_snapshot, tmp_path):
    snapshot, _, _ = etcd_snapshot
    server = Server(tmp_path, name="m1", binary=ETCDD)
    os.makedirs(server.data_dir)
    keep = os.path.join(server.data_dir, "precious")
    open(keep, "w").write("mine")
    r = restore(snapshot, server)
    assert r.returncode != 0
    assert 'data-dir "%s" exists and is not empty' % server.data_dir in r.stderr
    assert open(keep).read() == "mine"
    os.remove(keep)  # an empty directory is fine (a mounted volume)
    r = restore(snapshot, server)
    assert r.returncode == 0, r.stderr


def test_a_name_missing_from_the_initial_cluster_is_refused(etcd_snapshot, tmp_path):
    snapshot, _, _ = etcd_snapshot
    server = Server(tmp_path, name="m1", binary=ETCDD)
    r = subprocess.run([KVBACKUP, "restore", snapshot, "--data-dir", server.data_dir,
                        "--name", "other", "--initial-cluster", "m1=http://127.0.0.1:%d" % free_port()],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert 'couldn\'t find local name "other" in the initial cluster configuration' in r.stderr
    assert not os.path.exists(server.data_dir)


KVCTL = os.environ.get("KVCTL_BIN", os.path.join(BUILD, "cmd", "kvctl", "kvctl"))


def test_kvctl_snapshot_restore_takes_etcdctls_arguments(etcd_snapshot, tmp_path):
    snapshot, seen, _ = etcd_snapshot
    server = Server(tmp_path, name="m1", binary=ETCDD)
    peer = "http://127.0.0.1:%d" % server.peer_port
    args = ["snapshot", "restore", snapshot, "--data-dir", server.data_dir, "--name", "m1",
            "--initial-cluster", "m1=" + peer, "--initial-advertise-peer-urls", peer]
    r = subprocess.run([KVCTL, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # as etcdctl: only log lines, on stderr
    again = subprocess.run([KVCTL, *args], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert again.stderr.endswith('Error: data-dir "%s" exists and is not empty\n' % server.data_dir)
    server.start()
    try:
        assert observe(server.endpoint) == seen
    finally:
        server.stop()
