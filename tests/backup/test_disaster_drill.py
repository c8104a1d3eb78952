"""Disaster drill, as an operator would run it at 3 a.m.: a 3-member etcdd
cluster under write load is backed up with `kvbackup save` (an archive from
the leader); then every member is killed and its data dir deleted; all three
are restored from that one archive with `kvbackup restore` and started. The
cluster comes back with the keys, revision, HashKV and leases of the moment
of the backup, and takes writes again.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from etcdd_harness import Cluster  # noqa: E402

BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
KVBACKUP = os.environ.get("KVBACKUP_BIN", os.path.join(BUILD, "cmd", "kvbackup", "kvbackup"))
ETCDCTL = "/usr/bin/etcdctl"


def etcdctl(endpoints, *args):
    return subprocess.run([ETCDCTL, "--endpoints", ",".join(endpoints), *args],
                          capture_output=True, text=True, check=True, timeout=30,
                          env=dict(os.environ, ETCDCTL_API="3")).stdout


def kvbackup(*args):
    r = subprocess.run([KVBACKUP, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


class Writer(threading.Thread):
    """Puts keys through etcdctl until stopped (one process per put: a
    steady, modest load)."""

    def __init__(self, endpoints):
        super().__init__(daemon=True)
        self.endpoints = endpoints
        self.stop = threading.Event()
        self.count = 0

    def run(self):
        while not self.stop.is_set() and self.count < 2000:
            etcdctl(self.endpoints, "put", "/load/%05d" % self.count, "v" * 100)
            self.count += 1


def snapshot_view(endpoints, revision=None):
    args = ["get", "", "--from-key", "-w", "json"]
    if revision:
        args += ["--rev", str(revision)]
    return json.loads(etcdctl(endpoints, *args))


def hashkv(endpoint, revision):
    out = etcdctl([endpoint], "endpoint", "hashkv", "--rev", str(revision), "-w", "json")
    return json.loads(out)[0]["HashKV"]["hash"]


def test_restore_a_whole_cluster_from_one_archive(tmp_path):
    cluster = Cluster(tmp_path / "cluster", 3)
    with cluster:
        eps = cluster.endpoints()
        for i in range(100):
            etcdctl(eps, "put", "/base/%03d" % i, str(i))
        lease = etcdctl(eps, "lease", "grant", "900").split()[1]
        etcdctl(eps, "put", "/leased", "x", "--lease", lease)
        writer = Writer(eps)
        writer.start()
        backups = tmp_path / "backups"
        backups.mkdir()
        saved = json.loads(kvbackup("--endpoints", ",".join(eps), "save", str(backups), "-w", "json"))
        writer.stop.set()
        writer.join()
        archive = saved["path"]
        status = json.loads(kvbackup("status", archive, "-w", "json"))
        revision = status["revision"]
        before = snapshot_view(eps, revision)
        before_hash = hashkv(eps[0], revision)
        assert writer.count > 0

    initial = cluster.members[0].initial_cluster
    for m in cluster.members:
        shutil.rmtree(m.data_dir)
        peer = "http://127.0.0.1:%d" % m.peer_port
        out = json.loads(kvbackup("restore", archive, "--name", m.name, "--data-dir", m.data_dir,
                                  "--initial-cluster", initial, "--initial-cluster-token", "t",
                                  "--initial-advertise-peer-urls", peer, "-w", "json"))
        assert out["revision"] == revision

    with cluster:
        eps = cluster.endpoints()
        after = snapshot_view(eps)
        assert after["header"]["revision"] == revision
        assert after["kvs"] == before["kvs"]
        for ep in eps:
            assert hashkv(ep, revision) == before_hash
        ttl = json.loads(etcdctl(eps, "lease", "timetolive", lease, "--keys", "-w", "json"))
        assert ttl["ttl"] > 0
        assert [base64.b64decode(k) for k in ttl["keys"]] == [b"/leased"]
        members = json.loads(etcdctl(eps, "member", "list", "-w", "json"))["members"]
        assert sorted(m["name"] for m in members) == ["m0", "m1", "m2"]
        put = json.loads(etcdctl(eps, "put", "/after-restore", "1", "-w", "json"))
        assert put["header"]["revision"] == revision + 1
