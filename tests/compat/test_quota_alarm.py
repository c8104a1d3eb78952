"""--quota-backend-bytes and the NOSPACE alarm, seen through the real etcdctl,
on etcdd and on the real etcd started the same way (etcdserver/quota.go,
api/v3rpc/quota.go, apply.go applierV3Capped, api/v3alarm).

A member whose backend would pass the quota raises NOSPACE for itself through
Raft and answers "etcdserver: mvcc: database space exceeded"; while the alarm
is raised, puts, txns with puts and lease grants fail, reads, deletes and
compaction work. The alarm is kept in the backend: it survives a restart and
travels in a snapshot (etcd's restore keeps the `alarm` bucket, so the
restored member starts with the old member's alarm). Alarm needs no
permission with auth on; a CORRUPT alarm refuses every write.

The transcripts of etcdd and etcd are compared after replacing member and
cluster ids (and backend sizes) with placeholders.
"""

import os
import re
import subprocess

import grpc
from etcd3 import etcdrpc

from conftest import ETCDCTL, Etcdctl
from etcd_rpc import Client
from etcdd_harness import REPO, Server, is_real_etcd, server_binary

ETCD = "/usr/bin/etcd"
KVCTL = os.environ.get("KVCTL_BIN", os.path.join(REPO, "build", "cmd", "kvctl", "kvctl"))
QUOTA = 8 * 1024 * 1024
VALUE = "v" * (600 * 1024)  # about 13 puts pass an 8 MiB quota
MAX_FILL_PUTS = 60
NOSPACE = "Error: etcdserver: mvcc: database space exceeded"


def quota_server(tmp_path, binary=None, quota=QUOTA, name="default", subdir="server"):
    d = tmp_path / subdir
    d.mkdir()
    return Server(d, name=name, binary=binary,
                  extra_args=["--quota-backend-bytes", str(quota)])


def fill(etcdctl):
    """Puts big values until the quota refuses one; returns how many fit."""
    for i in range(MAX_FILL_PUTS):
        p = etcdctl.run("put", "fill/%03d" % i, input=VALUE)
        if p.returncode != 0:
            assert p.stderr.strip().splitlines()[-1] == NOSPACE
            return i
    raise AssertionError("the quota never refused a put")


def run(etcdctl, *args, input=None):
    """A command's exit code, stdout and last stderr line."""
    p = etcdctl.run(*args, input=input)
    err = p.stderr.strip().splitlines()
    return p.returncode, p.stdout, err[-1] if err else ""


def normalize(text, member_id):
    text = text.replace(str(member_id), "MEMBER")
    text = re.sub(r"\d+(\.\d+)? (B|kB|MB)", "SIZE", text)
    return re.sub(r"-+", "-", re.sub(r" +", " ", text))


def member_id_of(etcdctl):
    return etcdctl.json("endpoint", "status")[0]["Status"]["header"]["member_id"]


def nospace_transcript(etcdctl):
    """What etcdctl prints while NOSPACE is raised, ids normalized."""
    mid = member_id_of(etcdctl)
    out = []
    for args, stdin in [
            (("put", "small", "v"), None),
            (("txn",), "\nput small v\n\n\n"),
            (("lease", "grant", "60"), None),
            (("alarm", "list"), None),
            (("alarm", "list", "-w", "json"), None),
            (("alarm", "list", "-w", "table"), None),
            (("alarm", "list", "extra"), None),
            (("get", "fill/000", "--keys-only"), None),
            (("txn",), "\ndel fill/001\n\n\n"),
            (("del", "fill/002"), None),
            (("compaction", "3"), None)]:
        code, stdout, err = run(etcdctl, *args, input=stdin)
        out.append((args, code, normalize(stdout, mid), normalize(err, mid)))
    status = etcdctl.json("endpoint", "status")[0]["Status"]
    out.append(("errors", [normalize(e, mid) for e in status["errors"]]))
    return out


def test_nospace_transcript_matches_etcd(tmp_path):
    transcripts = {}
    for i, binary in enumerate((server_binary(), ETCD)):
        with quota_server(tmp_path, binary, subdir="server%d" % i) as s:
            etcdctl = Etcdctl(s.endpoint)
            assert fill(etcdctl) > 0
            transcripts[binary] = nospace_transcript(etcdctl)
            mid = member_id_of(etcdctl)
            assert run(etcdctl, "alarm", "list") == (
                0, "memberID:%d alarm:NOSPACE \n" % mid, "")
            # etcdctl 3.4's fields printer dereferences the header that
            # etcd's AlarmResponse does not carry: it crashes on both.
            assert etcdctl.run("alarm", "list", "-w", "fields").returncode == 2
            assert run(etcdctl, "alarm", "disarm", "-w", "json") == (
                0, '{"alarms":[{"memberID":%d,"alarm":1}]}\n' % mid, "")
            assert run(etcdctl, "alarm", "list", "-w", "json") == (0, "{}\n", "")
            assert run(etcdctl, "alarm", "disarm") == (0, "", "")
    ours = transcripts[server_binary()]
    assert ours == transcripts[ETCD]
    put, txn_put, grant = ours[0][1:], ours[1][1:], ours[2][1:]
    assert put == (1, "", NOSPACE) and txn_put == (1, "", NOSPACE)
    assert grant[2] == "Error: failed to grant lease (etcdserver: mvcc: database space exceeded)"
    txn_del, delete, compaction = ours[8][1:], ours[9][1:], ours[10][1:]
    assert txn_del == (0, "SUCCESS\n\n1\n", "") and delete == (0, "1\n", "")
    assert compaction == (0, "compacted revision 3\n", "")
    errors = dict(t for t in ours if t[0] == "errors")["errors"]
    assert errors == ["memberID:MEMBER alarm:NOSPACE "]


def restore(tmp_path, tool, snapshot, binary, name):
    d = tmp_path / name
    d.mkdir()
    s = Server(d, name=name, binary=binary)
    peer = "http://127.0.0.1:%d" % s.peer_port
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    subprocess.run([tool, "snapshot", "restore", str(snapshot), "--data-dir", s.data_dir,
                    "--name", name, "--initial-cluster", "%s=%s" % (name, peer),
                    "--initial-advertise-peer-urls", peer],
                   check=True, capture_output=True, env=env)
    return s


def test_alarm_survives_restart_and_snapshot_restore(tmp_path):
    with quota_server(tmp_path) as s:
        etcdctl = Etcdctl(s.endpoint)
        fill(etcdctl)
        mid = member_id_of(etcdctl)
        listed = "memberID:%d alarm:NOSPACE \n" % mid
        assert etcdctl.ok("alarm", "list") == listed
        # A restart with a quota the data fits in keeps the alarm, and with it
        # the refusal of writes (etcd's restoreAlarms installs the capped
        # applier at start).
        s.kill9()
        s.extra_args = ["--quota-backend-bytes", str(8 * QUOTA)]
        s.start()
        assert etcdctl.ok("alarm", "list") == listed
        assert etcdctl.json("endpoint", "status")[0]["Status"]["errors"] == [listed[:-1]]
        assert etcdctl.error("put", "small", "v") == NOSPACE
        snapshot = tmp_path / "nospace.db"
        etcdctl.ok("snapshot", "save", str(snapshot))
        assert etcdctl.ok("alarm", "disarm") == listed
        assert etcdctl.ok("put", "small", "v") == "OK\n"
        assert etcdctl.ok("alarm", "list") == ""

    # etcd's restore keeps the alarm bucket: the new member starts with the
    # old member's NOSPACE alarm and refuses writes until it is disarmed.
    restores = [(ETCDCTL, ETCD, "etcd")]
    if not is_real_etcd():
        restores.append((KVCTL, server_binary(), "ours"))
    for tool, binary, name in restores:
        with restore(tmp_path, tool, snapshot, binary, name) as r:
            restored = Etcdctl(r.endpoint)
            assert restored.ok("alarm", "list") == listed, name
            assert restored.error("put", "small", "v") == NOSPACE, name
            assert restored.ok("get", "fill/000", "--keys-only") == "fill/000\n\n"
            assert restored.ok("alarm", "disarm") == listed, name
            assert restored.ok("put", "small", "v") == "OK\n", name


def test_alarm_needs_no_permission_with_auth_on(tmp_path):
    """etcd 3.4's Maintenance.Alarm checks no permission: with auth enabled, a
    client without a user lists the alarms and a user without roles disarms
    them; a wrong password still fails."""
    for i, binary in enumerate((server_binary(), ETCD)):
        with quota_server(tmp_path, binary, subdir="auth%d" % i) as s:
            etcdctl = Etcdctl(s.endpoint)
            fill(etcdctl)
            listed = "memberID:%d alarm:NOSPACE \n" % member_id_of(etcdctl)
            etcdctl.ok("user", "add", "root:pw")
            etcdctl.ok("user", "grant-role", "root", "root")
            etcdctl.ok("user", "add", "u:pw")
            etcdctl.ok("auth", "enable")
            assert etcdctl.ok("alarm", "list") == listed, binary
            assert etcdctl.error("--user", "u:bad", "alarm", "list") == (
                "Error: etcdserver: authentication failed, invalid user ID or password")
            assert etcdctl.ok("--user", "u:pw", "alarm", "disarm") == listed, binary
            assert etcdctl.ok("alarm", "list") == "", binary


def test_corrupt_alarm_refuses_writes(tmp_path):
    """A CORRUPT alarm (raised through the API here; etcd raises it after a
    failed hash check) refuses every KV and lease write with DataLoss
    "etcdserver: corrupt cluster" (etcd's applierV3Corrupt); reads work."""
    corrupt = (grpc.StatusCode.DATA_LOSS, "etcdserver: corrupt cluster")

    def refused(call):
        try:
            call()
        except grpc.RpcError as e:
            return (e.code(), e.details())
        return None

    for i, binary in enumerate((server_binary(), ETCD)):
        with quota_server(tmp_path, binary, subdir="corrupt%d" % i) as s:
            etcdctl = Etcdctl(s.endpoint)
            assert etcdctl.ok("put", "k", "v") == "OK\n"
            mid = member_id_of(etcdctl)
            with Client(s.endpoint) as c:
                r = c.maintenance.Alarm(etcdrpc.AlarmRequest(
                    action=etcdrpc.AlarmRequest.ACTIVATE, memberID=mid,
                    alarm=etcdrpc.CORRUPT), timeout=5)
                assert [(a.memberID, a.alarm) for a in r.alarms] == [(mid, etcdrpc.CORRUPT)]
                assert not r.HasField("header")
                assert refused(lambda: c.put("k", "w")) == corrupt, binary
                assert refused(lambda: c.delete("k")) == corrupt, binary
                assert refused(lambda: c.grant(60)) == corrupt, binary
                assert refused(lambda: c.compact(1)) == corrupt, binary
                assert c.value("k")[0] == b"v"
            assert etcdctl.ok("alarm", "list") == "memberID:%d alarm:CORRUPT \n" % mid
            assert etcdctl.ok("alarm", "disarm") == "memberID:%d alarm:CORRUPT \n" % mid
            assert etcdctl.ok("put", "k", "w") == "OK\n"
