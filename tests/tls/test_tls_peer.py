"""Members talking over https peer URLs with --peer-client-cert-auth: a
3-member cluster survives losing its leader; a member with a peer cert
from the wrong CA, or the wrong CN with --peer-cert-allowed-cn, cannot join
and its refusal is logged. Real processes on loopback."""

import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Cluster, Server, free_port, is_real_etcd  # noqa: E402

ETCDCTL = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")


def etcdctl(endpoints, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    return subprocess.run([ETCDCTL, "--endpoints", ",".join(endpoints), "--dial-timeout", "2s",
                           "--command-timeout", "5s"] + list(args),
                          capture_output=True, text=True, timeout=30, env=env)


def peer_args(cert, ca, allowed_cn=None):
    a = ["--peer-cert-file", cert.cert, "--peer-key-file", cert.key,
         "--peer-trusted-ca-file", ca, "--peer-client-cert-auth"]
    if allowed_cn:
        a += ["--peer-cert-allowed-cn", allowed_cn]
    return a


def leader_of(endpoints):
    r = etcdctl(endpoints, "endpoint", "status", "-w", "json")
    import json
    statuses = json.loads(r.stdout) if r.returncode == 0 else []
    for st in statuses:
        if st["Status"]["leader"] == st["Status"]["header"]["member_id"]:
            return st["Endpoint"]
    return None


def test_three_members_over_https_survive_losing_the_leader(tmp_path, pki):
    certs = {n: pki.cert("peer-" + n, pki.ca1, cn="member", ips=["127.0.0.1"])
             for n in ("m0", "m1", "m2")}
    with Cluster(tmp_path, 3, peer_scheme="https",
                 member_args=lambda n: peer_args(certs[n], pki.ca1.cert, "member")) as c:
        for m in c.members:
            assert any("serving peer traffic securely" in line for line in m.log)
        r = etcdctl(c.endpoints(), "member", "list")
        assert r.returncode == 0 and r.stdout.count("https://127.0.0.1:") == 3, r.stdout
        assert etcdctl(c.endpoints(), "put", "k", "v").returncode == 0
        deadline = time.monotonic() + 30
        leader = leader_of(c.endpoints())
        while leader is None and time.monotonic() < deadline:
            leader = leader_of(c.endpoints())
        assert leader is not None
        victim = next(m for m in c.members if m.endpoint in leader)
        victim.kill9()
        rest = [m.endpoint for m in c.members if m is not victim]
        # Writes succeed once the two left elect a leader (bounded retries).
        deadline = time.monotonic() + 60
        while True:
            r = etcdctl(rest, "put", "k2", "v2")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
        assert r.returncode == 0, r.stderr
        r = etcdctl(rest, "get", "k2", "--print-value-only")
        assert r.stdout == "v2\n"


@pytest.mark.parametrize("bad", ["wrong-ca", "wrong-cn"])
def test_member_with_bad_peer_cert_cannot_join(tmp_path, pki, bad):
    good = pki.cert("peer-good-" + bad, pki.ca1, cn="member", ips=["127.0.0.1"])
    if bad == "wrong-ca":
        wrong = pki.cert("peer-wrong-ca", pki.ca2, cn="member", ips=["127.0.0.1"])
    else:
        wrong = pki.cert("peer-wrong-cn", pki.ca1, cn="intruder", ips=["127.0.0.1"])
    # Two members, so that the cluster keeps its quorum with a third added
    # that never comes up.
    with Cluster(tmp_path / "c", 2, peer_scheme="https",
                 member_args=lambda n: peer_args(good, pki.ca1.cert, "member")) as c:
        first = c.members[0]
        port = free_port()
        url = "https://127.0.0.1:%d" % port
        r = etcdctl(c.endpoints(), "member", "add", "joiner", "--peer-urls", url)
        assert r.returncode == 0, r.stderr
        initial = ",".join("%s=https://127.0.0.1:%d" % (m.name, m.peer_port)
                           for m in c.members) + ",joiner=" + url
        joiner = Server(tmp_path, name="joiner", peer_port=port, peer_scheme="https",
                        initial_cluster=initial, ready_timeout=5,
                        extra_args=["--initial-cluster-state", "existing",
                                    "--initial-cluster-token", "t"] +
                        peer_args(wrong, pki.ca1.cert, "member"))
        # Refused by the members, it cannot fetch the cluster's membership
        # and exits.
        joiner.launch()
        assert joiner.proc.wait(timeout=60) != 0
        joiner.kill9()
        assert any("could not retrieve cluster information" in line for line in joiner.log)
        # The members log the refusal with etcd's words.
        error = {"wrong-ca": "x509: certificate signed by unknown authority",
                 "wrong-cn": "client certificate authentication failed"}[bad]
        assert any("rejected connection" in line and error in line
                   for m in c.members for line in m.log), first.log[-10:]
        # The cluster still serves, with the joiner never started.
        r = etcdctl(c.endpoints(), "put", "k", "v")
        assert r.returncode == 0, r.stderr


def test_peer_auto_tls_cluster(tmp_path):
    # Each member makes its own self-signed peer cert; peers do not verify
    # each other's (etcd's --peer-auto-tls).
    with Cluster(tmp_path, 3, peer_scheme="https", extra_args=["--peer-auto-tls"]) as c:
        for m in c.members:
            assert os.path.exists(os.path.join(m.data_dir, "fixtures", "peer", "cert.pem"))
        assert etcdctl(c.endpoints(), "put", "k", "v").returncode == 0
        r = etcdctl(c.endpoints(), "member", "list")
        assert r.stdout.count("https://127.0.0.1:") == 3, r.stdout
