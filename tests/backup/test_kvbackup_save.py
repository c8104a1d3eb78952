"""`kvbackup save`, `list` and `prune` as operators run them, against real
etcd 3.4 (/usr/bin/etcd), and against etcdd with KVBACKUP_SERVER_BIN=<etcdd>
(ctest backup_kvbackup_etcdd).

What is checked: the bare file is byte-for-byte what `etcdctl snapshot save`
would store (etcdctl reads it back); archives hold snapshot.db and a manifest
that matches the cluster; -w json parses; exit codes; a save that fails or
is killed with SIGKILL mid-transfer leaves no file that looks like a backup,
and the next save removes the dead one's temporary file; the directory lock;
the progress line appears on a terminal only.
"""

import fcntl
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from etcdd_harness import Cluster, Server, free_port  # noqa: E402

KVBACKUP = os.environ.get("KVBACKUP_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "cmd", "kvbackup", "kvbackup"))
SERVER = os.environ.get("KVBACKUP_SERVER_BIN", "/usr/bin/etcd")
ETCDCTL = "/usr/bin/etcdctl"
NAME = re.compile(r"^[0-9a-f]{16}-\d{8}T\d{6}Z-r(\d+)\.(tar\.zst|tar\.zst\.enc|db)$")
DATA_MB = 24


def run(*args, endpoints, timeout=60, **kw):
    return subprocess.run([KVBACKUP, "--endpoints", ",".join(endpoints), *args],
                          capture_output=True, text=True, timeout=timeout, **kw)


def etcdctl(endpoint, *args):
    return subprocess.run([ETCDCTL, "--endpoints", endpoint, *args], capture_output=True,
                          text=True, check=True, timeout=30,
                          env=dict(os.environ, ETCDCTL_API="3")).stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("etcd"), binary=SERVER,
               extra_args=["--quota-backend-bytes", str(1 << 30)])
    s.start()
    load(s.endpoint, DATA_MB)
    yield s
    s.kill9()


def load(endpoint, megabytes):
    """Writes `megabytes` MiB of incompressible values through etcdctl's
    stdin-fed `put` (one process per 1 MiB value)."""
    for i in range(megabytes):
        subprocess.run([ETCDCTL, "--endpoints", endpoint, "put", "big%03d" % i],
                       input=os.urandom(512 * 1024).hex(), capture_output=True, check=True,
                       text=True, env=dict(os.environ, ETCDCTL_API="3"), timeout=30)


def backups(d):
    return sorted(n for n in os.listdir(d) if NAME.match(n))


def test_save_raw_file_is_what_etcdctl_reads(server, tmp_path):
    out = tmp_path / "snap.db"
    r = run("save", "--raw", str(out), endpoints=[server.endpoint])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Snapshot saved at %s\n" % out
    assert r.stderr == ""  # not a terminal: no progress line
    size = out.stat().st_size
    assert size % 512 == 32 and size > DATA_MB << 20
    status = json.loads(etcdctl(server.endpoint, "snapshot", "status", str(out), "-w", "json"))
    assert status["totalSize"] == size - 32
    assert status["revision"] >= DATA_MB + 1
    assert [n for n in os.listdir(tmp_path)] == ["snap.db"]


def test_save_into_directory_writes_a_named_archive(server, tmp_path):
    r = run("save", str(tmp_path), "-w", "json", endpoints=[server.endpoint])
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    name = os.path.basename(result["path"])
    assert NAME.match(name) and name.endswith(".tar.zst")
    assert backups(tmp_path) == [name]
    m = result["manifest"]
    ep = json.loads(etcdctl(server.endpoint, "endpoint", "status", "-w", "json"))[0]["Status"]
    assert m["cluster_id"] == "%016x" % ep["header"]["cluster_id"]
    assert m["source_member_id"] == "%016x" % ep["header"]["member_id"]
    assert m["revision"] == ep["header"]["revision"] == int(NAME.match(name).group(1))
    assert m["format_version"] == 1 and m["key_count"] == DATA_MB
    assert [x["name"] for x in m["members"]] == ["default"]
    assert isinstance(m["hash_kv"], int) and len(m["sha256"]) == 64
    extract = tmp_path / "x"
    extract.mkdir()
    subprocess.run(["tar", "--zstd", "-xf", result["path"], "-C", str(extract)], check=True)
    assert sorted(os.listdir(extract)) == ["manifest.json", "snapshot.db"]
    assert json.loads((extract / "manifest.json").read_text()) == m
    assert (extract / "snapshot.db").stat().st_size == m["snapshot_size"]
    status = json.loads(etcdctl(server.endpoint, "snapshot", "status",
                                str(extract / "snapshot.db"), "-w", "json"))
    assert status["revision"] == m["revision"]


def test_list_shows_raw_and_archive(server, tmp_path):
    assert run("save", "--raw", str(tmp_path), endpoints=[server.endpoint]).returncode == 0
    etcdctl(server.endpoint, "put", "bump", "1")
    assert run("save", str(tmp_path), endpoints=[server.endpoint]).returncode == 0
    r = run("list", str(tmp_path), "-w", "json", endpoints=[server.endpoint])
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)["backups"]
    assert [b["kind"] for b in listed] == ["raw", "archive"]
    assert listed[1]["manifest"]["revision"] == listed[1]["revision"]
    table = run("list", str(tmp_path), "-w", "table", endpoints=[server.endpoint]).stdout
    assert "CLUSTER ID" in table and listed[0]["name"] in table


def test_encrypted_save_and_bad_keys(server, tmp_path):
    key = tmp_path / "key"
    key.write_text(os.urandom(32).hex() + "\n")
    out = tmp_path / "backups"
    out.mkdir()
    r = run("save", str(out), "--encrypt-key-file", str(key), endpoints=[server.endpoint])
    assert r.returncode == 0, r.stderr
    [name] = backups(out)
    assert name.endswith(".tar.zst.enc")
    assert (out / name).read_bytes()[:8] == b"KVBKENC1"
    listed = json.loads(run("list", str(out), "-w", "json", "--encrypt-key-file", str(key),
                            endpoints=[]).stdout)["backups"]
    assert listed[0]["manifest"]["key_count"] >= DATA_MB
    wrong = tmp_path / "wrong"
    wrong.write_bytes(os.urandom(32))
    listed = json.loads(run("list", str(out), "-w", "json", "--encrypt-key-file", str(wrong),
                            endpoints=[]).stdout)["backups"]
    assert "wrong key or corrupt file" in listed[0]["error"]
    for bad in [b"short", os.urandom(31), b"z" * 64]:
        key.write_bytes(bad)
        r = run("save", str(out), "--encrypt-key-file", str(key), endpoints=[server.endpoint])
        assert r.returncode == 128 and "32 raw bytes or 64 hex digits" in r.stderr
    r = run("save", "--raw", str(out), "--encrypt-key-file", str(wrong),
            endpoints=[server.endpoint])
    assert r.returncode == 128
    assert backups(out) == [name]


def test_unreachable_endpoint_fails_and_writes_nothing(tmp_path):
    port = free_port()
    r = run("--dial-timeout", "1s", "save", str(tmp_path), endpoints=["127.0.0.1:%d" % port])
    assert r.returncode == 1 and "context deadline exceeded" in r.stderr
    assert os.listdir(tmp_path) == []
    r = run("--dial-timeout", "1s", "save", str(tmp_path / "f.db"),
            endpoints=["127.0.0.1:%d" % port])
    assert r.returncode == 1 and os.listdir(tmp_path) == []


def test_bad_arguments_exit_128(server, tmp_path):
    assert run("save", endpoints=[server.endpoint]).returncode == 128
    assert run("prune", str(tmp_path), endpoints=[]).returncode == 128
    assert run("save", str(tmp_path), "--from", "nobody", endpoints=[]).returncode == 128
    assert run("save", str(tmp_path), "--keep-last", "2", endpoints=[]).returncode == 128
    r = run("save", str(tmp_path), "-w", "fields", endpoints=[server.endpoint])
    assert r.returncode == 4 and "unsupported output format" in r.stderr
    assert os.listdir(tmp_path) == []


class SlowProxy:
    """Forwards a loopback port to `target`, the server-to-client direction
    throttled to about `rate` bytes a second, so a transfer lasts long enough
    to be killed in the middle."""

    def __init__(self, target, rate):
        self.target, self.rate = target, rate
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.rate),
                             daemon=True).start()

    @staticmethod
    def _pump(src, dst, rate):
        try:
            while True:
                data = src.recv(16 * 1024)
                if not data:
                    break
                dst.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.listener.close()


def test_kill9_mid_transfer_leaves_no_complete_looking_file(server, tmp_path):
    proxy = SlowProxy(server.client_port, rate=4 << 20)
    try:
        p = subprocess.Popen([KVBACKUP, "--endpoints", "127.0.0.1:%d" % proxy.port, "save",
                              str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        temp = re.compile(r"^\..*\.tmp-%d$" % p.pid)
        deadline = time.time() + 30
        partial = None
        while time.time() < deadline and partial is None:
            for n in os.listdir(tmp_path):
                if temp.match(n) and os.path.getsize(tmp_path / n) > (2 << 20):
                    partial = n
            time.sleep(0.02)
        assert partial, "the transfer never got going: %r" % (p.poll(),)
        p.send_signal(signal.SIGKILL)
        p.wait()
    finally:
        proxy.close()
    assert backups(tmp_path) == []
    r = run("list", str(tmp_path), "-w", "json", endpoints=[])
    assert json.loads(r.stdout) == {"backups": []}
    # The next save removes the dead save's temporary file.
    r = run("save", str(tmp_path), "-w", "json", endpoints=[server.endpoint])
    assert r.returncode == 0, r.stderr
    assert partial in json.loads(r.stdout)["removed_temp_files"]
    assert sorted(os.listdir(tmp_path)) == sorted([".kvbackup.lock"] + backups(tmp_path))
    assert len(backups(tmp_path)) == 1


def test_lock_blocks_overlapping_runs(server, tmp_path):
    fd = os.open(tmp_path / ".kvbackup.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = run("save", str(tmp_path), endpoints=[server.endpoint])
        assert r.returncode == 1 and "--lock-timeout" in r.stderr
        r = run("prune", str(tmp_path), "--keep-last", "1", endpoints=[])
        assert r.returncode == 1 and "another kvbackup" in r.stderr
        threading.Timer(0.5, lambda: os.close(fd)).start()
        r = run("save", str(tmp_path), "--lock-timeout", "20s", endpoints=[server.endpoint])
        assert r.returncode == 0, r.stderr
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    assert len(backups(tmp_path)) == 1


def test_save_prune_keeps_the_newest(server, tmp_path):
    names = []
    for i in range(3):
        etcdctl(server.endpoint, "put", "rev", str(i))  # a new revision, a new name
        r = run("save", str(tmp_path), "--prune", "--keep-last", "2", "-w", "json",
                endpoints=[server.endpoint])
        assert r.returncode == 0, r.stderr
        names.append(os.path.basename(json.loads(r.stdout)["path"]))
    assert backups(tmp_path) == sorted(names[1:])
    r = run("prune", str(tmp_path), "--keep-last", "1", "--dry-run", "-w", "json", endpoints=[])
    plan = json.loads(r.stdout)
    assert plan["remove"] == [names[1]] and plan["removed"] == []
    assert len(backups(tmp_path)) == 2


def test_progress_line_on_a_terminal_only(server, tmp_path):
    master, slave = pty.openpty()
    p = subprocess.Popen([KVBACKUP, "--endpoints", server.endpoint, "save", "--raw",
                          str(tmp_path / "a.db")], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert p.wait(60) == 0
    os.close(master)
    assert b"MiB" in seen and b"100%" in seen and b"\r" in seen


def test_leader_or_follower_of_a_cluster(tmp_path):
    with Cluster(tmp_path, 3, binary=SERVER) as c:
        eps = [m.endpoint for m in c.members]
        statuses = json.loads(etcdctl(",".join(eps), "endpoint", "status", "-w", "json"))
        leader = [s["Endpoint"] for s in statuses
                  if s["Status"]["header"]["member_id"] == s["Status"]["leader"]]
        out = tmp_path / "b"
        out.mkdir()
        r = run("save", "--raw", str(out / "l.db"), "-w", "json", endpoints=eps)
        assert r.returncode == 0, r.stderr
        assert [json.loads(r.stdout)["endpoint"]] == leader
        r = run("save", "--raw", str(out / "f.db"), "--from", "follower", "-w", "json",
                endpoints=eps)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["endpoint"] not in leader
        assert len(json.loads(r.stdout)["manifest"]["members"]) == 3


def test_timeout_bounds_the_transfer(server, tmp_path):
    proxy = SlowProxy(server.client_port, rate=2 << 20)
    try:
        start = time.time()
        r = run("save", str(tmp_path), "--timeout", "2s",
                endpoints=["127.0.0.1:%d" % proxy.port])
    finally:
        proxy.close()
    assert r.returncode == 1 and "deadline exceeded" in r.stderr, r.stderr
    assert time.time() - start < 20
    assert [n for n in os.listdir(tmp_path) if n != ".kvbackup.lock"] == []
