"""etcdd as an operator runs it: flags, environment, bad input, shutdown and
restart, corrupt files. Real processes on loopback."""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

import etcd3
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Server, free_port, is_real_etcd, server_binary  # noqa: E402


def run_etcdd(*args, env=None, timeout=30, cwd=None):
    return subprocess.run([server_binary()] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def client_for(server):
    host, port = server.endpoint.split(":")
    return etcd3.client(host=host, port=int(port), timeout=5)


def log_messages(text):
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_version():
    r = run_etcdd("--version")
    assert r.returncode == 0
    assert "etcd API Version: 3.4" in r.stdout


def test_unknown_flag_is_an_error():
    r = run_etcdd("--no-such-flag", "x")
    assert r.returncode == 2
    assert "no-such-flag" in r.stderr


def test_malformed_values_are_errors(tmp_path):
    r = run_etcdd("--heartbeat-interval", "abc", "--data-dir", str(tmp_path / "d"))
    assert r.returncode == 2
    assert "heartbeat-interval" in r.stderr
    r = run_etcdd("--listen-client-urls", "127.0.0.1:2379", "--data-dir", str(tmp_path / "d"))
    assert r.returncode == 2
    assert "--listen-client-urls" in r.stderr
    assert not (tmp_path / "d").exists()


def test_election_timeout_checked_like_etcd(tmp_path):
    port = free_port()
    r = run_etcdd("--election-timeout", "100", "--data-dir", str(tmp_path / "d"),
                  "--listen-client-urls", "http://127.0.0.1:%d" % port)
    assert r.returncode == 1
    assert ("--election-timeout[100ms] should be at least as 5 times as "
            "--heartbeat-interval[100ms]") in r.stderr


def test_port_in_use_fails_before_touching_the_data_dir(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_etcdd("--data-dir", str(tmp_path / "d"),
                      "--listen-client-urls", "http://127.0.0.1:%d" % port)
    assert r.returncode == 1
    assert "address already in use" in r.stderr
    assert not (tmp_path / "d").exists()


def test_peer_port_in_use_fails_before_touching_the_data_dir(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        peer = "http://127.0.0.1:%d" % s.getsockname()[1]
        r = run_etcdd("--data-dir", str(tmp_path / "d"),
                      "--listen-client-urls", "http://127.0.0.1:%d" % free_port(),
                      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                      "--initial-cluster", "default=" + peer)
    assert r.returncode == 1
    assert "address already in use" in r.stderr
    assert not (tmp_path / "d").exists()


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    bad = tmp_path / "file"
    bad.write_text("not a directory")
    r = run_etcdd("--data-dir", str(bad),
                  "--listen-client-urls", "http://127.0.0.1:%d" % free_port())
    assert r.returncode == 1
    assert "not a directory" in r.stderr
    assert bad.read_text() == "not a directory"


def test_data_dir_in_use_is_refused(tmp_path):
    with Server(tmp_path) as s:
        r = run_etcdd("--data-dir", s.data_dir,
                      "--listen-client-urls", "http://127.0.0.1:%d" % free_port(),
                      "--listen-peer-urls", "http://127.0.0.1:%d" % free_port())
        assert r.returncode == 1
        assert "in use by another process" in r.stderr
        c = client_for(s)
        c.put("still", "serving")
        assert c.get("still")[0] == b"serving"
        c.close()


def test_environment_variables_configure_like_etcd(tmp_path):
    client_port, peer_port = free_port(), free_port()
    env = dict(os.environ)
    env.update({
        "ETCD_NAME": "envnode",
        "ETCD_DATA_DIR": str(tmp_path / "env.etcd"),
        "ETCD_LISTEN_CLIENT_URLS": "http://127.0.0.1:%d" % client_port,
        "ETCD_ADVERTISE_CLIENT_URLS": "http://127.0.0.1:%d" % client_port,
        "ETCD_LISTEN_PEER_URLS": "http://127.0.0.1:%d" % peer_port,
        "ETCD_INITIAL_ADVERTISE_PEER_URLS": "http://127.0.0.1:%d" % peer_port,
    })
    proc = subprocess.Popen([server_binary()], env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "ready to serve client requests" in line:
                break
        c = etcd3.client(host="127.0.0.1", port=client_port, timeout=5)
        members = list(c.members)
        assert [m.name for m in members] == ["envnode"]
        assert os.path.isdir(str(tmp_path / "env.etcd" / "member" / "wal"))
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_sigterm_stops_cleanly_and_restart_keeps_data(tmp_path):
    s = Server(tmp_path).start()
    try:
        c = client_for(s)
        for i in range(50):
            c.put("/k/%d" % i, "v%d" % i)
        rev = c.put("/last", "x").header.revision
        c.close()
        assert s.stop() == 0
        assert any(m.get("msg") == "stopped serving" for m in log_messages("".join(s.log)))
        s.start()
        c = client_for(s)
        value, meta = c.get("/last")
        assert value == b"x" and meta.mod_revision == rev
        assert len(list(c.get_prefix("/k/"))) == 50
        assert c.put("/after", "y").header.revision == rev + 1
        c.close()
    finally:
        s.kill9()


def test_sigterm_while_waiting_for_quorum_stops_at_once(tmp_path):
    # One member of a 3-member cluster, alone: it waits for a quorum that
    # never comes. An operator's Ctrl-C or SIGTERM must still stop it.
    peers = {n: free_port() for n in ("a", "b", "c")}
    initial = ",".join("%s=http://127.0.0.1:%d" % (n, p) for n, p in peers.items())
    s = Server(tmp_path, name="a", peer_port=peers["a"], initial_cluster=initial).launch()
    try:
        deadline = time.monotonic() + 30
        while not s.log and time.monotonic() < deadline:  # started logging
            s.proc.wait(timeout=0.05) if s.proc.poll() is not None else time.sleep(0.05)
        assert s.log, "the member logged nothing"
        # etcd re-raises the signal after its clean-up; etcdd exits 0.
        assert s.stop(timeout=10) in (0, -signal.SIGTERM)
    finally:
        s.kill9()


def wal_segments(server):
    return sorted(glob.glob(os.path.join(server.data_dir, "member", "wal", "*.wal")))


def test_corrupt_wal_refuses_to_start_and_names_the_file(tmp_path):
    s = Server(tmp_path).start()
    c = client_for(s)
    for i in range(20):
        c.put("/k/%d" % i, "v" * 100)
    c.close()
    s.stop()
    (segment,) = wal_segments(s)
    with open(segment, "r+b") as f:
        data = f.read(8192)
        # Flip a bit inside an early record (past the segment header), not the tail.
        pos = data.index(b"v" * 100) + 10
        f.seek(pos)
        f.write(bytes([data[pos] ^ 0x01]))
    original = open(segment, "rb").read()
    r = run_etcdd(*s.args()[1:])
    assert r.returncode == 1
    assert os.path.basename(segment) in r.stderr
    assert "offset" in r.stderr
    assert open(segment, "rb").read() == original, "a refused start must not modify the WAL"


def test_full_backend_refuses_writes_and_keeps_serving(tmp_path):
    quota = 1 << 20
    s = Server(tmp_path, extra_args=["--quota-backend-bytes", str(quota)]).start()
    try:
        c = client_for(s)
        refused = 0
        for i in range(40):
            try:
                c.put("/big/%d" % i, "x" * 120000)
            except Exception as e:  # etcd3 raises its own exception types
                assert "database space exceeded" in str(e)
                refused += 1
        assert refused > 0, "a 1 MiB quota must refuse some of 40 puts of 120 KB"
        # Reads and deletes still work, and the member survives a restart.
        assert c.get("/big/0")[0] == b"x" * 120000
        c.delete_prefix("/big/")
        c.close()
        s.restart()
        c = client_for(s)
        assert list(c.get_prefix("/big/")) == []
        c.close()
    finally:
        s.kill9()


def test_read_only_txn_is_served_without_a_raft_entry(tmp_path):
    with Server(tmp_path) as s:
        c = client_for(s)
        c.put("k", "v")
        before = c.status().raft_index
        ok, responses = c.transaction(compare=[c.transactions.value("k") == "v"],
                                      success=[c.transactions.get("k")], failure=[])
        assert ok
        assert responses[0][0][0] == b"v"
        assert c.status().raft_index == before, "a read-only txn must not go through Raft"
        ok, _ = c.transaction(compare=[c.transactions.value("k") == "v"],
                              success=[c.transactions.put("k", "w")], failure=[])
        assert ok and c.status().raft_index == before + 1
        assert c.get("k")[0] == b"w"
        c.close()


def test_config_file_replaces_flags_and_environment(tmp_path):
    client_port, peer_port = free_port(), free_port()
    cfg = tmp_path / "etcd.conf.yml"
    cfg.write_text("\n".join([
        "name: fromfile",
        "data-dir: %s" % (tmp_path / "file.etcd"),
        "listen-client-urls: http://127.0.0.1:%d" % client_port,
        "advertise-client-urls: http://127.0.0.1:%d" % client_port,
        "listen-peer-urls: http://127.0.0.1:%d" % peer_port,
        "initial-advertise-peer-urls: http://127.0.0.1:%d" % peer_port,
        "initial-cluster: fromfile=http://127.0.0.1:%d" % peer_port,
        "log-outputs: [stderr]",
        "proxy: 'off'",
        "",
    ]))
    env = dict(os.environ, ETCD_NAME="fromenv")
    proc = subprocess.Popen([server_binary(), "--config-file", str(cfg), "--name", "fromflag"],
                            env=env, stderr=subprocess.PIPE, text=True)
    log = []
    try:
        for line in proc.stderr:
            log.append(line)
            if "ready to serve client requests" in line:
                break
        c = etcd3.client(host="127.0.0.1", port=client_port, timeout=5)
        assert [m.name for m in c.members] == ["fromfile"]
        c.close()
        assert os.path.isdir(str(tmp_path / "file.etcd" / "member"))
        if not is_real_etcd():  # etcd ignores unknown fields silently; etcdd warns
            assert any(m.get("flag") == "--proxy" for m in log_messages("".join(log)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_malformed_config_file_is_an_error(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text("name: [unclosed\n")
    r = run_etcdd("--config-file", str(cfg))
    assert r.returncode == 1
    assert "bad.yml" in r.stderr


@pytest.mark.skipif(is_real_etcd(), reason="etcdd's start-up check of TLS files")
def test_config_file_tls_section_with_missing_files_is_an_error(tmp_path):
    # The section is read (tests/tls covers a working one); a cert file that
    # does not exist stops etcdd before it creates the data dir.
    port = free_port()
    cfg = tmp_path / "tls.yml"
    cfg.write_text("name: n\ndata-dir: %s\n"
                   "listen-client-urls: https://127.0.0.1:%d\n"
                   "advertise-client-urls: https://127.0.0.1:%d\n"
                   "client-transport-security:\n  cert-file: /nonexistent/server.pem\n"
                   "  key-file: /nonexistent/server.key\n"
                   % (tmp_path / "n.etcd", port, port))
    r = run_etcdd("--config-file", str(cfg))
    assert r.returncode == 1
    assert "open /nonexistent/server.pem: no such file or directory" in r.stderr
    assert not (tmp_path / "n.etcd").exists()


@pytest.mark.parametrize("args,error", [
    (["--auto-compaction-mode", "foo"], 'unknown auto-compaction-mode "foo"'),
    (["--auto-compaction-retention", "abc"],
     'error parsing CompactionRetention: time: invalid duration "abc"'),
    (["--auto-compaction-retention", "-1"],
     'error parsing CompactionRetention: time: missing unit in duration "-1"'),
    (["--auto-compaction-mode", "revision", "--auto-compaction-retention", "1.5"],
     'error parsing CompactionRetention: time: missing unit in duration "1.5"'),
    (["--auto-compaction-mode=", "--auto-compaction-retention=5m"],
     "unsupported compaction mode "),
])
def test_bad_auto_compaction_values_fail_like_etcd(tmp_path, args, error):
    """etcd 3.4 refuses these before serving, exit status 1, with the error in
    its log line; etcdd the same, and leaves no data dir behind."""
    binaries = [server_binary()]
    if os.path.exists("/usr/bin/etcd") and not is_real_etcd():
        binaries.append("/usr/bin/etcd")
    for binary in binaries:
        data_dir = tmp_path / os.path.basename(binary)
        port, peer = free_port(), free_port()
        extra = ["--logger=zap"] if os.path.basename(binary) == "etcd" else []
        r = subprocess.run(
            [binary, "--data-dir", str(data_dir),
             "--listen-client-urls", "http://127.0.0.1:%d" % port,
             "--advertise-client-urls", "http://127.0.0.1:%d" % port,
             "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
             "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
             "--initial-cluster", "default=http://127.0.0.1:%d" % peer] + extra + args,
            capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, (binary, r.stderr)
        errors = [m.get("error") for m in log_messages(r.stderr)]
        assert error in errors, (binary, r.stderr)
        if os.path.basename(binary) != "etcd":
            assert not data_dir.exists()


@pytest.mark.skipif(is_real_etcd(), reason="etcd 3.4 accepts it, then its compactor panics")
def test_negative_auto_compaction_retention_is_refused(tmp_path):
    """etcd 3.4 accepts "-5m" and its compactor then panics; etcdd refuses it."""
    r = run_etcdd("--auto-compaction-retention", "-5m", "--data-dir", str(tmp_path / "d"),
                  "--listen-client-urls", "http://127.0.0.1:%d" % free_port())
    assert r.returncode == 1
    assert 'error parsing CompactionRetention: negative retention \\"-5m\\"' in r.stderr
    assert not (tmp_path / "d").exists()


def test_config_file_unquoted_retention_is_refused_like_etcd(tmp_path):
    """etcd reads auto-compaction-retention from its config file as a string:
    an unquoted number there stops it with its JSON decoding error (exit 1);
    quoted, it is hours."""
    binaries = [server_binary()]
    if os.path.exists("/usr/bin/etcd") and not is_real_etcd():
        binaries.append("/usr/bin/etcd")
    for binary in binaries:
        config = tmp_path / ("%s.yaml" % os.path.basename(binary))
        config.write_text("data-dir: %s\nauto-compaction-retention: 1\n"
                          % (tmp_path / ("%s.d" % os.path.basename(binary))))
        r = subprocess.run([binary, "--config-file", str(config)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1, (binary, r.stderr)
        assert ("json: cannot unmarshal number into Go struct field "
                "configYAML.auto-compaction-retention of type string") in r.stderr, r.stderr
