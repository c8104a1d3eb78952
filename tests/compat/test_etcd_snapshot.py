"""Maintenance.Snapshot and Maintenance.Hash in etcd's format, checked with the
real tools: `etcdctl snapshot save` from etcdd (one member, and a 3-member
cluster under writes), `etcdctl snapshot status`, `etcdctl snapshot restore`
and the real etcd started on the restored data dir serving every key as
etcdd did; the stream's shape as etcd's maintenance.go sends it; the Hash RPC
equal on all members and to the CRC-32C of the saved file's buckets; a client
cancelling mid-stream leaves no file behind."""

import glob
import hashlib
import json
import os
import subprocess
import sys
import threading

import pytest
from etcd3 import etcdrpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

from bbolt_file import read_snapshot  # noqa: E402
from etcd_rpc import Client, wait_until  # noqa: E402
from etcdd_harness import Cluster, Server, is_real_etcd  # noqa: E402

ETCD = "/usr/bin/etcd"
ETCDCTL = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")
SEND_BUFFER = 32 * 1024  # etcd's snapshotSendBufferSize


def etcdctl(*args, endpoint=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    cmd = [ETCDCTL] + (["--endpoints=" + endpoint] if endpoint else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr)
    return r.stdout


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(crc, data):
    """CRC-32C (Castagnoli) of `data` continuing `crc`, as Go's crc32.Update."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def backend_hash(buckets):
    """etcd's backend.Hash(DefaultIgnores) over a file's buckets: meta's
    consistent_index (3.4) and term (3.5) left out."""
    h = 0
    for name, entries in buckets.items():
        h = crc32c(h, name)
        for k, v in entries:
            if name == b"meta" and k in (b"consistent_index", b"term"):
                continue
            h = crc32c(crc32c(h, k), v)
    return h


def kvs_of(client, revision=0):
    """{key: (value, create, mod, version, lease)} of every key."""
    resp = client.kv.Range(etcdrpc.RangeRequest(key=b"\0", range_end=b"\0", revision=revision),
                           timeout=30)
    return {kv.key: (kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease)
            for kv in resp.kvs}


def export_files(server):
    return glob.glob(os.path.join(server.data_dir, "member", "snap", "export-*"))


def restore_and_start_etcd(tmp_path, snapshot, name="restored"):
    """`etcdctl snapshot restore` into a new data dir and the real etcd on it."""
    etcd = Server(tmp_path, name=name, binary=ETCD)
    peer = "http://127.0.0.1:%d" % etcd.peer_port
    etcdctl("snapshot", "restore", snapshot, "--name", name, "--data-dir", etcd.data_dir,
            "--initial-cluster", "%s=%s" % (name, peer), "--initial-advertise-peer-urls", peer)
    return etcd.start()


def check_restored(tmp_path, snapshot, expected_kvs, lease_ids):
    etcd = restore_and_start_etcd(tmp_path, snapshot)
    try:
        with Client(etcd.endpoint) as c:
            assert kvs_of(c) == expected_kvs
        leases = etcdctl("lease", "list", endpoint=etcd.endpoint)
        for lid in lease_ids:
            assert "%x" % lid in leases
    finally:
        etcd.kill9()


def populate(client):
    """Puts, overwrites, a delete, a compaction and a leased key. Returns the
    lease id."""
    for i in range(50):
        client.put("key%03d" % i, "value-%d" % i)
    for i in range(0, 50, 5):
        client.put("key%03d" % i, "again-%d" % i)
    client.delete("key007")
    rev = client.put("mid", "x").header.revision
    client.compact(rev - 3)
    lease = client.grant(600).ID
    client.put("leased", "held", lease=lease)
    client.put("big", "z" * 100000)  # an overflow page
    return lease


def test_single_member_save_status_restore_hash(tmp_path):
    with Server(tmp_path, name="src") as s, Client(s.endpoint) as c:
        lease = populate(c)
        expected = kvs_of(c)
        revision = c.status().header.revision
        snap = str(tmp_path / "saved.db")
        etcdctl("snapshot", "save", snap, endpoint=s.endpoint)
        assert export_files(s) == []

        buckets = read_snapshot(snap)
        assert list(buckets) == [b"alarm", b"auth", b"authRoles", b"authUsers", b"cluster",
                                 b"key", b"lease", b"members", b"members_removed", b"meta"]
        status = json.loads(etcdctl("snapshot", "status", "-w", "json", snap))
        assert status["revision"] == revision
        assert status["totalKey"] == sum(len(e) for e in buckets.values())
        assert status["totalSize"] == os.path.getsize(snap) - 32
        assert len(buckets[b"lease"]) == 1

        # Hash: etcd's backend hash of the same state (nothing written since).
        h = c.maintenance.Hash(etcdrpc.HashRequest(), timeout=10)
        assert h.header.revision == revision
        assert h.hash == backend_hash(buckets)

        check_restored(tmp_path, snap, expected, [lease])


def test_stream_shape_matches_etcd(tmp_path):
    """32 KiB pieces with remaining_bytes counting down the bbolt bytes, then
    the SHA-256 of those bytes with remaining_bytes 0 (maintenance.go)."""
    with Server(tmp_path, name="src") as s, Client(s.endpoint) as c:
        for i in range(30):
            c.put("k%d" % i, os.urandom(4000))
        msgs = list(c.maintenance.Snapshot(etcdrpc.SnapshotRequest(), timeout=30))
        data = b"".join(m.blob for m in msgs[:-1])
        total = len(data)
        assert total % 4096 == 0 and total > 3 * SEND_BUFFER
        sent = 0
        for m in msgs[:-1]:
            assert len(m.blob) == min(SEND_BUFFER, total - sent)
            sent += len(m.blob)
            assert m.remaining_bytes == total - sent
        assert msgs[-1].remaining_bytes == 0
        assert msgs[-1].blob == hashlib.sha256(data).digest()
        assert export_files(s) == []


def test_cancel_mid_stream_leaves_no_file(tmp_path):
    with Server(tmp_path, name="src") as s, Client(s.endpoint) as c:
        for i in range(40):
            c.put("big%d" % i, os.urandom(500000), timeout=30)
        stream = c.maintenance.Snapshot(etcdrpc.SnapshotRequest(), timeout=60)
        first = next(stream)
        assert first.remaining_bytes > 10 * 1024 * 1024
        if not is_real_etcd():  # etcd streams from a pipe, not a file
            assert len(export_files(s)) == 1
        stream.cancel()
        wait_until(lambda: export_files(s) == [], 20, "export file removed after cancel")
        # The member still serves, and a full snapshot afterwards works.
        snap = str(tmp_path / "after-cancel.db")
        etcdctl("snapshot", "save", snap, endpoint=s.endpoint)
        assert json.loads(etcdctl("snapshot", "status", "-w", "json", snap))["totalKey"] > 40
        assert export_files(s) == []


@pytest.mark.skipif(is_real_etcd(), reason="etcdd's own file names")
def test_stale_export_removed_at_start(tmp_path):
    s = Server(tmp_path, name="src").start()
    try:
        s.stop()
        stale = os.path.join(s.data_dir, "member", "snap", "export-3.snap.db")
        os.makedirs(os.path.dirname(stale), exist_ok=True)
        with open(stale, "wb") as f:
            f.write(b"partial")
        s.start()
        assert export_files(s) == []
    finally:
        s.kill9()


class Writer(threading.Thread):
    """Keeps putting keys through one member until stopped."""

    def __init__(self, endpoint):
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.stop = threading.Event()
        self.count = 0
        self.error = None

    def run(self):
        try:
            with Client(self.endpoint) as c:
                while not self.stop.is_set():
                    c.put("w%06d" % self.count, "v%d" % self.count, timeout=10)
                    self.count += 1
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def test_cluster_save_from_every_member_while_writing(tmp_path):
    with Cluster(tmp_path, 3) as cluster:
        writer = Writer(cluster.members[0].endpoint)
        writer.start()
        try:
            wait_until(lambda: writer.count >= 50 or writer.error, 30, "50 writes")
            saved = []
            for m in cluster.members:
                snap = str(tmp_path / ("%s.db" % m.name))
                etcdctl("snapshot", "save", snap, endpoint=m.endpoint)
                saved.append((m, snap))
        finally:
            writer.stop.set()
            writer.join(30)
        assert writer.error is None, writer.error
        for m, snap in saved:
            assert export_files(m) == []
            status = json.loads(etcdctl("snapshot", "status", "-w", "json", snap))
            assert status["revision"] >= 50
        # The follower's file, restored into real etcd, holds every key as
        # etcdd served it at the file's revision.
        m, snap = saved[1]
        revision = json.loads(etcdctl("snapshot", "status", "-w", "json", snap))["revision"]
        with Client(m.endpoint) as c:
            expected = kvs_of(c, revision=revision)
        assert len(expected) >= 50
        check_restored(tmp_path, snap, expected, [])

        # Hash at rest: every member at the same revision agrees.
        final = None
        with Client(cluster.members[0].endpoint) as c:
            final = c.put("last", "x").header.revision

        def hashes():
            out = {}
            for mem in cluster.members:
                with Client(mem.endpoint) as c:
                    h = c.maintenance.Hash(etcdrpc.HashRequest(), timeout=10)
                    out[mem.name] = (h.header.revision, h.hash)
            return out

        wait_until(lambda: {r for r, _ in hashes().values()} == {final}, 20,
                   "all members at revision %d" % final)
        assert len({h for _, h in hashes().values()}) == 1, hashes()

