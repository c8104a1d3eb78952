"""Fixtures shared by the compatibility tests: a fresh single-member server
per test (tests/support/etcdd_harness.py) and a runner for the real etcdctl.

Every test starts from an empty store, so revisions are exact: the first
write is revision 2, as in etcd. Member and cluster ids are derived from the
peer URL and the default cluster token exactly as etcd derives them.
"""

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

from etcdd_harness import Server  # noqa: E402

ETCDCTL = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")


def member_id(peer_urls, token="etcd-cluster"):
    """etcd's NewMember id without a timestamp."""
    digest = hashlib.sha1(("".join(sorted(peer_urls)) + token).encode()).digest()
    return struct.unpack(">Q", digest[:8])[0]


def cluster_id(member_ids):
    """etcd's RaftCluster.genID."""
    packed = b"".join(struct.pack(">Q", m) for m in sorted(member_ids))
    return struct.unpack(">Q", hashlib.sha1(packed).digest()[:8])[0]


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Etcdctl:
    """Runs etcdctl (API v3) against one endpoint."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def run(self, *args, input=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
        env["ETCDCTL_API"] = "3"
        return subprocess.run([ETCDCTL, "--endpoints=" + self.endpoint] + list(args),
                              input=input, capture_output=True, text=True, env=env,
                              timeout=60)

    def ok(self, *args, input=None):
        """stdout of a command that must succeed."""
        p = self.run(*args, input=input)
        assert p.returncode == 0, "etcdctl %s failed: %s" % (args, p.stderr)
        return p.stdout

    def json(self, *args, input=None):
        return json.loads(self.ok(*args, "-w", "json", input=input))

    def error(self, *args, input=None):
        """The final "Error: ..." line of a command that must fail."""
        p = self.run(*args, input=input)
        assert p.returncode != 0, "etcdctl %s unexpectedly succeeded: %s" % (args, p.stdout)
        return p.stderr.strip().splitlines()[-1]


class Cluster:
    """What a test needs to know about its server to predict outputs."""

    def __init__(self, server):
        self.server = server
        self.endpoint = server.endpoint
        self.peer_url = "http://127.0.0.1:%d" % server.peer_port
        self.client_url = "http://" + server.endpoint
        self.member_id = member_id([self.peer_url])
        self.cluster_id = cluster_id([self.member_id])
        self._term = None

    @property
    def term(self):
        """The raft term, read once; a single member keeps it."""
        if self._term is None:
            status = Etcdctl(self.endpoint).json("endpoint", "status")[0]["Status"]
            self._term = status["raftTerm"]
        return self._term

    def header(self, revision):
        """etcdctl -w json's top-level response header."""
        h = {"cluster_id": self.cluster_id, "member_id": self.member_id,
             "raft_term": self.term}
        if revision:
            h["revision"] = revision
        return h


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path) as s:
        yield s


@pytest.fixture
def cluster(server):
    return Cluster(server)


@pytest.fixture
def etcdctl(server):
    return Etcdctl(server.endpoint)
