"""kvdefrag against real 3-member clusters.

etcdd members ($ETCDD_BIN) for the plan, the input checks and the health
check; the rolling defragmentation and the NOSPACE recovery also run against
real etcd (/usr/bin/etcd) and against etcdd.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))

from etcdd_harness import Cluster, Server, free_port, server_binary  # noqa: E402

KVDEFRAG = os.environ.get("KVDEFRAG_BIN", os.path.join(REPO, "build", "cmd", "kvdefrag",
                                                       "kvdefrag"))
KVCTL = os.environ.get("KVCTL_BIN", os.path.join(REPO, "build", "cmd", "kvctl", "kvctl"))
ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
POLL_DEADLINE = 60  # seconds a poll for a cluster condition may take


def run(binary, *args, timeout=120):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ETCDCTL_", "KVCTL_"))}
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def kvdefrag(cluster, *args):
    return run(KVDEFRAG, "--endpoints", ",".join(cluster.endpoints()), *args)


def kvctl(endpoints, *args):
    return run(KVCTL, "--endpoints", ",".join(endpoints), *args)


def etcdctl(endpoints, *args):
    return run(ETCDCTL, "--endpoints", ",".join(endpoints), *args)


def statuses(cluster):
    code, out, err = kvctl(cluster.endpoints(), "endpoint", "status", "-w", "json")
    assert code == 0, err
    return {s["Endpoint"]: s["Status"] for s in json.loads(out)}


def leader_id(cluster):
    return next(iter(statuses(cluster).values()))["leader"]


def revision(cluster):
    code, out, err = kvctl(cluster.endpoints(), "get", "x", "-w", "json")
    assert code == 0, err
    return json.loads(out)["header"]["revision"]


def fill(endpoints, count, size, keys=10, prefix="fill"):
    """Overwrites `keys` keys `count` times: history that compaction frees."""
    for i in range(count):
        code, _, err = kvctl(endpoints, "put", "%s%d" % (prefix, i % keys), "v" * size)
        assert code == 0, err


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(str(tmp_path_factory.mktemp("etcdd")), 3) as c:
        fill(c.endpoints(), 30, 100)
        yield c


# --- the plan ---------------------------------------------------------------

def test_dry_run_json_lists_followers_then_the_leader(cluster):
    code, out, err = kvdefrag(cluster, "--dry-run", "-w", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["dryRun"] is True
    members = doc["members"]
    assert [m["role"] for m in members] == ["follower", "follower", "leader"]
    assert int(members[-1]["memberId"], 16) == leader_id(cluster)
    st = statuses(cluster)
    for m in members:
        assert int(m["memberId"], 16) == st[m["endpoint"]]["header"]["member_id"]
        assert m["action"] == "defrag" and m["reason"] == "no rule"
        assert m["dbSize"] > 0 and 0 <= m["freeRatio"] <= 1
        assert set(m) == {"endpoint", "memberId", "role", "dbSize", "dbSizeInUse", "freeRatio",
                          "action", "reason"}


def test_dry_run_table_has_a_row_per_member_leader_last(cluster):
    code, out, err = kvdefrag(cluster, "--dry-run", "-w", "table", "--cluster")
    assert code == 0, err
    lines = out.splitlines()
    header = [c.strip() for c in lines[1].split("|")[1:-1]]
    assert header == ["ENDPOINT", "MEMBER ID", "ROLE", "DB SIZE", "DB SIZE IN USE", "FREE RATIO",
                      "ACTION", "REASON"]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[3:-1]]
    assert [r[2] for r in rows] == ["follower", "follower", "leader"]
    assert all(r[0].startswith("http://127.0.0.1:") for r in rows)
    assert int(rows[-1][1], 16) == leader_id(cluster)


@pytest.mark.parametrize("args,actions", [
    (["--rule", "dbSize > 0"], ["defrag"] * 3),
    (["--rule", "dbSize < 0"], ["skip"] * 3),
    (["--rule", "dbSize > 0 && dbQuotaUsage >= 0.5", "--db-quota-bytes", "1"], ["defrag"] * 3),
    (["--min-quota-usage", "0.8"], ["skip"] * 3),  # far below 2 GiB
    (["--min-quota-usage", "0.8", "--db-quota-bytes", "1000"], ["defrag"] * 3),
    (["--min-free-ratio", "1", "--rule", "dbSizeInUse > 0"], ["defrag"] * 3),
])
def test_dry_run_applies_the_rule(cluster, args, actions):
    code, out, err = kvdefrag(cluster, "--dry-run", "-w", "json", *args)
    assert code == 0, err
    members = json.loads(out)["members"]
    assert [m["action"] for m in members] == actions
    want = "rule holds" if actions[0] == "defrag" else "rule does not hold"
    assert all(m["reason"] == want for m in members)


def test_dry_run_simple_is_one_line_per_member(cluster):
    code, out, err = kvdefrag(cluster, "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[-1].split(", ")[2] == "leader"
    assert lines[-1].endswith("defrag (no rule)")


# --- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--compact", "--rule", "dbSize >"], 'Error: invalid rule "dbSize >": '),
    (["--compact", "--rule", "foo > 1"], 'Error: invalid rule "foo > 1": unknown variable "foo"'),
    (["--rule", ""], 'Error: invalid rule "": '),
    (["--compact", "--min-free-ratio", "2"], "Error: --min-free-ratio must be between 0 and 1"),
    (["--min-free-ratio", "x"], "Error: invalid argument"),
    (["--keep-revisions", "5"], "Error: --keep-revisions needs --compact"),
    (["--compact", "--keep-revisions", "-1"], "Error: --keep-revisions must not be negative"),
    (["--compact", "--keep-revisions", "x"], "Error: invalid argument"),
    (["--db-quota-bytes", "0"], "Error: --db-quota-bytes must be positive"),
    (["--no-such-flag"], "Error: unknown flag: --no-such-flag"),
    (["-w", "yaml"], "Error: unsupported output format yaml"),
])
def test_bad_input_is_refused_and_changes_nothing(cluster, args, message):
    before = revision(cluster)
    # Bad input is refused before anything is done, even with --compact.
    code, out, err = kvdefrag(cluster, *args)
    assert code == 1
    assert err.startswith(message), err
    assert out == ""
    assert revision(cluster) == before


def test_unreachable_endpoint_is_an_error():
    port = free_port()
    code, out, err = run(KVDEFRAG, "--endpoints", "127.0.0.1:%d" % port, "--dial-timeout", "1s",
                         "--command-timeout", "2s")
    assert code == 1
    assert "cluster is not healthy: member 127.0.0.1:%d is unhealthy" % port in err, err
    assert out == ""


def test_unreachable_cluster_with_cluster_flag_is_an_error():
    code, out, err = run(KVDEFRAG, "--endpoints", "127.0.0.1:%d" % free_port(),
                         "--dial-timeout", "1s", "--cluster")
    assert code == 1
    assert err.startswith("Error: failed to fetch endpoints from etcd cluster member list"), err


def test_a_stopped_member_makes_the_cluster_unhealthy(cluster):
    victim = cluster.members[1]
    victim.stop()
    try:
        before = revision(cluster)
        code, out, err = kvdefrag(cluster, "--compact", "--dial-timeout", "1s",
                                  "--command-timeout", "2s")
        assert code == 1
        assert err.startswith("Error: cluster is not healthy: member %s is unhealthy" %
                              victim.endpoint), err
        assert "--skip-health-check" in err
        assert revision(cluster) == before
        code, out, err = kvdefrag(cluster, "--dry-run", "--skip-health-check", "-w", "json",
                                  "--dial-timeout", "1s", "--command-timeout", "2s")
        assert code == 0, err
        assert len(json.loads(out)["members"]) == 3
    finally:
        victim.restart()


# --- offline -----------------------------------------------------------------

def listing(path):
    return sorted((os.path.relpath(os.path.join(d, f), path), os.path.getsize(os.path.join(d, f)))
                  for d, _, files in os.walk(path) for f in files)


def test_offline_defrag_of_a_stopped_member_and_refusal_of_a_running_one(tmp_path):
    with Server(str(tmp_path)) as s:
        fill([s.endpoint], 300, 2000)
        code, _, err = kvctl([s.endpoint], "compaction", "--physical", "300")
        assert code == 0, err
        code, out, err = run(KVDEFRAG, "--data-dir", s.data_dir)
        assert code == 1 and out == ""
        assert err == "Error: data dir %s is in use by another process\n" % s.data_dir
        s.stop()
        code, out, err = run(KVDEFRAG, "--data-dir", s.data_dir, "-w", "json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["dataDir"] == s.data_dir
        assert doc["dbSizeAfter"] < doc["dbSizeBefore"]
        code, out, err = run(KVCTL, "defrag", "--data-dir", s.data_dir)
        assert (code, out, err) == (0, "", "")  # etcdctl prints nothing either
        s.restart()
        code, out, err = kvctl([s.endpoint], "get", "fill", "--prefix", "--keys-only")
        assert code == 0, err
        assert sorted(out.split()) == sorted("fill%d" % i for i in range(10))


def test_offline_defrag_refuses_what_is_not_an_etcdd_data_dir(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(KVDEFRAG, "--data-dir", str(empty))
    assert code == 1 and out == ""
    assert err == "Error: %s is not an etcdd data dir: %s/member/db/data.mdb does not exist\n" % (
        empty, empty)
    assert listing(str(empty)) == []
    code, out, err = run(KVCTL, "defrag", "--data-dir", str(empty))
    assert code == 1 and out == ""
    assert err.startswith("Failed to defragment etcd data[%s] (%s is not an etcdd data dir" %
                          (empty, empty)), err

    with Server(str(tmp_path), binary=ETCD) as etcd:
        fill([etcd.endpoint], 5, 10)
        etcd.stop()
    before = listing(etcd.data_dir)
    code, out, err = run(KVDEFRAG, "--data-dir", etcd.data_dir)
    assert code == 1 and out == ""
    assert err.startswith("Error: %s is an etcd data dir, not etcdd's" % etcd.data_dir), err
    assert listing(etcd.data_dir) == before


# --- rolling defragmentation ---------------------------------------------------

class Writer(threading.Thread):
    """Puts distinct keys until stopped, recording the acknowledged ones."""

    def __init__(self, endpoints):
        super().__init__(daemon=True)
        self.endpoints = endpoints
        self.acked = []
        self.stop_event = threading.Event()

    def run(self):
        for i in range(100000):
            if self.stop_event.is_set():
                return
            key = "w%06d" % i
            code, _, _ = kvctl(self.endpoints, "put", key, str(i))
            if code == 0:
                self.acked.append(key)

    def stop(self):
        self.stop_event.set()
        self.join(60)


def wait_same_revision(cluster):
    deadline = time.monotonic() + POLL_DEADLINE
    while True:
        revs = {s["header"]["revision"] for s in statuses(cluster).values()}
        if len(revs) == 1:
            return revs.pop()
        assert time.monotonic() < deadline, revs
        time.sleep(0.1)


@pytest.mark.parametrize("binary", ["etcdd", "etcd"])
def test_rolling_defrag_under_writes(tmp_path, binary):
    with Cluster(str(tmp_path), 3, binary=server_binary() if binary == "etcdd" else ETCD) as c:
        fill(c.endpoints(), 300, 2000)
        writer = Writer(c.endpoints())
        writer.start()
        try:
            code, out, err = kvdefrag(c, "--compact", "--keep-revisions", "10", "-w", "json")
        finally:
            writer.stop()
        assert code == 0, err
        doc = json.loads(out)
        assert doc["ok"] is True and doc["error"] == ""
        assert doc["compactedRevision"] > 280  # 300 puts and more, less 10 kept
        members = doc["members"]
        assert [m["role"] for m in members] == ["follower", "follower", "leader"]
        assert all(m["state"] == "done" for m in members)
        for m in members:
            # 300 overwrites of 2 kB compacted away: the file shrinks.
            assert m["dbSizeAfter"] < m["dbSize"], m
        assert doc["freedBytes"] == sum(m["dbSize"] - m["dbSizeAfter"] for m in members)

        rev = wait_same_revision(c)
        for ep in c.endpoints():
            code, out, err = kvctl([ep], "get", "w", "--prefix", "--keys-only",
                                   "--consistency=s")
            assert code == 0, err
            present = set(out.split())
            missing = [k for k in writer.acked if k not in present]
            assert not missing, (ep, missing[:5])
        hashes = set()
        for ep in c.endpoints():
            code, out, err = kvctl([ep], "endpoint", "hashkv", "--rev", str(rev), "-w", "json")
            assert code == 0, err
            hashes.add(json.loads(out)[0]["HashKV"]["hash"])
        assert len(hashes) == 1


def test_move_leader_defrags_the_old_leader_as_a_follower(tmp_path):
    with Cluster(str(tmp_path), 3, binary=ETCD) as c:
        old = leader_id(c)
        code, out, err = kvdefrag(c, "--move-leader", "-w", "json")
        assert code == 0, err
        members = json.loads(out)["members"]
        assert int(members[-1]["memberId"], 16) == old and members[-1]["movedLeader"] is True
        assert leader_id(c) != old


@pytest.mark.parametrize("binary", ["etcdd", "etcd"])
def test_compact_and_disarm_bring_writes_back_after_nospace(tmp_path, binary):
    quota = 256 * 1024
    with Cluster(str(tmp_path), 3, binary=server_binary() if binary == "etcdd" else ETCD,
                 extra_args=["--quota-backend-bytes", str(quota)]) as c:
        eps = c.endpoints()
        for i in range(2000):
            code, _, err = kvctl(eps, "put", "big%d" % (i % 4), "v" * 8000)
            if code != 0:
                assert "database space exceeded" in err, err
                break
        else:
            pytest.fail("the quota was never reached")
        code, out, _ = etcdctl(eps, "alarm", "list")
        assert "NOSPACE" in out
        code, out, err = kvdefrag(c, "--compact", "--disarm", "--db-quota-bytes", str(quota))
        assert code == 0, err
        assert "Disarmed" in out
        code, out, _ = etcdctl(eps, "alarm", "list")
        assert out == ""
        code, _, err = kvctl(eps, "put", "after", "1")
        assert code == 0, err
