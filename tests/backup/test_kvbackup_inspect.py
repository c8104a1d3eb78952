"""`kvbackup status`, `kvbackup verify` and `kvctl snapshot save/status`
against real etcd 3.4 (/usr/bin/etcd serves Maintenance.Snapshot) and the
real etcdctl 3.4: the status numbers and their three -w renderings are
etcdctl's, byte for byte, whichever tool saved the file (etcdctl, `kvbackup
save --raw`, a kvbackup archive, encrypted or not); `kvctl snapshot save`
prints and exits as etcdctl does; verify passes good backups, recomputes
etcd's HashKV (equal to the server's), and fails, naming the problem, on a
flipped byte.

The server holds puts, overwrites, a delete and a compaction, so HashKV's
compaction rule is exercised.
"""

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from etcdd_harness import Server  # noqa: E402

BUILD = os.path.join(os.path.dirname(__file__), "..", "..", "build", "cmd")
KVBACKUP = os.environ.get("KVBACKUP_BIN", os.path.join(BUILD, "kvbackup", "kvbackup"))
KVCTL = os.environ.get("KVCTL_BIN", os.path.join(BUILD, "kvctl", "kvctl"))
SERVER = os.environ.get("KVBACKUP_SERVER_BIN", "/usr/bin/etcd")
ETCDCTL = "/usr/bin/etcdctl"
FORMATS = ["simple", "table", "json"]


# The tools warn about KVCTL_*/ETCDCTL_* variables they do not know, such as
# the KVCTL_BIN that ctest sets for this file.
ENV = {k: v for k, v in os.environ.items() if not k.endswith("_BIN")}
ENV["ETCDCTL_API"] = "3"


def run(binary, *args, timeout=30):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout,
                          env=ENV)


def out_rc(r):
    return r.stdout, r.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("etcd"), binary=SERVER)
    s.start()
    ep = s.endpoint
    for i in range(40):
        assert run(ETCDCTL, "--endpoints", ep, "put", "k%d" % (i % 9), "v%d" % i).returncode == 0
    assert run(ETCDCTL, "--endpoints", ep, "del", "k4").returncode == 0
    assert run(ETCDCTL, "--endpoints", ep, "compaction", "30").returncode == 0
    for i in range(5):
        assert run(ETCDCTL, "--endpoints", ep, "put", "late%d" % i, "x" * 3000).returncode == 0
    yield s
    s.kill9()


def server_hashkv(ep):
    r = run(ETCDCTL, "--endpoints", ep, "endpoint", "hashkv", "-w", "json")
    return json.loads(r.stdout)[0]["HashKV"]


def etcdctl_status(path, fmt):
    return out_rc(run(ETCDCTL, "snapshot", "status", str(path), "-w", fmt))


def assert_status_like_etcdctl(path, reference=None):
    """kvbackup status and kvctl snapshot status of `path` print what
    etcdctl prints for `reference` (default: the same file)."""
    reference = reference or path
    for fmt in FORMATS:
        want = etcdctl_status(reference, fmt)
        assert want[1] == 0
        assert out_rc(run(KVCTL, "snapshot", "status", str(path), "-w", fmt)) == want, fmt
        assert out_rc(run(KVBACKUP, "status", str(path), "-w", fmt)) == want, fmt
    want = etcdctl_status(reference, "fields")
    assert out_rc(run(KVCTL, "snapshot", "status", str(path), "-w", "fields")) == want


def test_status_of_an_etcdctl_snapshot(server, tmp_path):
    path = tmp_path / "etcdctl.db"
    r = run(ETCDCTL, "--endpoints", server.endpoint, "snapshot", "save", str(path))
    assert r.returncode == 0, r.stderr
    assert_status_like_etcdctl(path)


def test_status_of_a_raw_kvbackup_save(server, tmp_path):
    path = tmp_path / "raw.db"
    r = run(KVBACKUP, "--endpoints", server.endpoint, "save", "--raw", str(path))
    assert r.returncode == 0, r.stderr
    assert_status_like_etcdctl(path)


def extract(archive, into):
    into.mkdir()
    subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(into)], check=True)
    return into / "snapshot.db", json.loads((into / "manifest.json").read_text())


def test_status_of_an_archive(server, tmp_path):
    archive = tmp_path / "a.tar.zst"
    assert run(KVBACKUP, "--endpoints", server.endpoint, "save", str(archive)).returncode == 0
    inner, manifest = extract(archive, tmp_path / "x")
    assert out_rc(run(KVBACKUP, "status", str(archive))) == etcdctl_status(inner, "simple")
    r = run(KVBACKUP, "status", str(archive), "-w", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got.pop("manifest") == manifest
    assert got == json.loads(etcdctl_status(inner, "json")[0])
    table = run(KVBACKUP, "status", str(archive), "-w", "table").stdout
    want = etcdctl_status(inner, "table")[0]
    assert table.startswith(want)
    assert "MANIFEST" in table[len(want):] and manifest["sha256"] in table


def test_status_and_verify_of_an_encrypted_archive(server, tmp_path):
    key = tmp_path / "key"
    key.write_text(os.urandom(32).hex() + "\n")
    archive = tmp_path / "e.tar.zst.enc"
    r = run(KVBACKUP, "--endpoints", server.endpoint, "save", str(archive),
            "--encrypt-key-file", str(key))
    assert r.returncode == 0, r.stderr
    raw = tmp_path / "raw.db"
    assert run(KVBACKUP, "--endpoints", server.endpoint, "save", "--raw", str(raw)).returncode == 0
    r = run(KVBACKUP, "status", str(archive), "--encrypt-key-file", str(key))
    assert out_rc(r) == etcdctl_status(raw, "simple")
    r = run(KVBACKUP, "status", str(archive))
    assert r.returncode != 0 and "--encrypt-key-file" in r.stderr
    r = run(KVBACKUP, "verify", str(archive), "--encrypt-key-file", str(key), "-w", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["ok"] is True


def test_kvctl_snapshot_save_matches_etcdctl(server, tmp_path):
    ep = server.endpoint
    ours, theirs = tmp_path / "kvctl.db", tmp_path / "etcdctl.db"
    r = run(KVCTL, "--endpoints", ep, "snapshot", "save", str(ours))
    e = run(ETCDCTL, "--endpoints", ep, "snapshot", "save", str(theirs))
    assert (r.stdout, r.returncode) == ("Snapshot saved at %s\n" % ours, 0)
    assert (e.stdout, e.returncode) == ("Snapshot saved at %s\n" % theirs, 0)
    assert sorted(os.listdir(tmp_path)) == ["etcdctl.db", "kvctl.db"]  # no .part left
    assert_status_like_etcdctl(ours, reference=theirs)
    for args in (["snapshot", "save"], ["snapshot", "save", "a", "b"],
                 ["--endpoints", ep + ",127.0.0.1:1", "snapshot", "save", str(tmp_path / "m")],
                 ["snapshot", "status"], ["snapshot", "status", str(tmp_path / "none.db")],
                 ["snapshot", "status", str(ours), "-w", "protobuf"],
                 ["snapshot", "status", str(ours), "-w", "xml"]):
        e = run(ETCDCTL, *args)
        r = run(KVCTL, *args)
        assert (r.stdout, r.returncode) == (e.stdout, e.returncode), args
        assert r.stderr.splitlines()[-1] == e.stderr.splitlines()[-1], args


def test_verify_passes_a_good_archive_and_recomputes_hashkv(server, tmp_path):
    archive = tmp_path / "good.tar.zst"
    assert run(KVBACKUP, "--endpoints", server.endpoint, "save", str(archive)).returncode == 0
    r = run(KVBACKUP, "verify", str(archive), "-w", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [
        "digest", "bbolt", "meta", "key", "hash_kv", "manifest"]
    assert all(c["outcome"] == "ok" for c in report["checks"])
    hashkv = server_hashkv(server.endpoint)
    assert report["hash_kv"] == hashkv["hash"]
    assert report["compact_revision"] == hashkv["compact_revision"] == 30
    assert "equals the manifest's" in report["checks"][4]["detail"]
    simple = run(KVBACKUP, "verify", str(archive))
    assert simple.returncode == 0 and simple.stdout.endswith("good.tar.zst:snapshot.db: ok\n")


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_fails_on_a_flipped_byte(server, tmp_path):
    raw = tmp_path / "raw.db"
    assert run(KVBACKUP, "--endpoints", server.endpoint, "save", "--raw", str(raw)).returncode == 0
    assert run(KVBACKUP, "verify", str(raw)).returncode == 0
    flip(raw, 4096 * 3 + 100)
    r = run(KVBACKUP, "verify", str(raw))
    assert r.returncode == 1
    assert "digest: FAILED: sha256 mismatch" in r.stdout and str(raw) in r.stdout
    assert r.stderr.startswith("Error: digest: sha256 mismatch")
    s = run(KVBACKUP, "status", str(raw))
    assert s.returncode == 1 and "sha256 mismatch" in s.stderr

    archive = tmp_path / "a.tar.zst"
    assert run(KVBACKUP, "--endpoints", server.endpoint, "save", str(archive)).returncode == 0
    flip(archive, archive.stat().st_size // 2)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    r = run(KVBACKUP, "verify", str(archive), "--temp-dir", str(scratch))
    assert r.returncode == 1 and str(archive) in r.stderr, r.stderr
    assert os.listdir(scratch) == []  # the extracted snapshot is removed
