"""Starts real etcdd (or etcd) processes on loopback for tests.

    with Server(tmpdir) as s:
        s.endpoint            # "127.0.0.1:PORT"
        s.kill9(); s.restart()

The binary is $ETCDD_BIN (default build/cmd/etcdd/etcdd). With
ETCDD_BIN=/usr/bin/etcd the same tests run against real etcd, which is how a
test's expectations are checked against the reference.

Readiness is an event: the harness reads the server's log and returns when it
says "ready to serve client requests" (etcd and etcdd both log it), or fails
after `ready_timeout` seconds with the log tail.
"""

import os
import signal
import socket
import subprocess
import threading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(REPO, "build", "cmd", "etcdd", "etcdd")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_binary():
    return os.environ.get("ETCDD_BIN", DEFAULT_BIN)


def is_real_etcd():
    return os.path.basename(server_binary()) == "etcd"


class Server:
    def __init__(self, tmpdir, name="default", client_port=None, peer_port=None,
                 extra_args=(), ready_timeout=30, binary=None, initial_cluster=None):
        self.binary = binary or server_binary()
        self.name = name
        self.data_dir = os.path.join(str(tmpdir), name + ".etcd")
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()
        self.endpoint = "127.0.0.1:%d" % self.client_port
        self.extra_args = list(extra_args)
        self.initial_cluster = initial_cluster  # None: this member alone
        self.ready_timeout = ready_timeout
        self.proc = None
        self.log = []
        self._ready = threading.Event()
        self._reader = None

    def args(self):
        peer = "http://127.0.0.1:%d" % self.peer_port
        client = "http://" + self.endpoint
        return [self.binary, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", self.initial_cluster or "%s=%s" % (self.name, peer),
                ] + self.extra_args

    def start(self):
        self.launch()
        return self.wait_ready()

    def launch(self):
        """Starts the process without waiting (members of a new cluster become
        ready only once a quorum of them runs)."""
        assert self.proc is None, "already running"
        self.log = []
        self._ready.clear()
        self.proc = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        self._reader = threading.Thread(target=self._read_log, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def wait_ready(self):
        if not self._ready.wait(self.ready_timeout) or self.proc.poll() is not None:
            self.kill9()
            raise RuntimeError("server did not become ready:\n" + "".join(self.log[-30:]))
        return self

    def _read_log(self, proc):
        for line in proc.stderr:
            self.log.append(line)
            if "ready to serve client requests" in line:
                self._ready.set()
        # Process exited: wake a waiter so it fails fast instead of timing out.
        self._ready.set()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join()
        self.proc = None

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join()
        self.proc = None
        return code

    def restart(self):
        self.kill9()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill9()


class Cluster:
    """`size` members on loopback forming one new cluster.

        with Cluster(tmpdir, 3) as c:
            c.members[0].endpoint
    """

    def __init__(self, tmpdir, size, extra_args=(), binary=None):
        names = ["m%d" % i for i in range(size)]
        peers = {n: free_port() for n in names}
        initial = ",".join("%s=http://127.0.0.1:%d" % (n, p) for n, p in peers.items())
        self.members = [Server(tmpdir, name=n, peer_port=peers[n], initial_cluster=initial,
                               extra_args=list(extra_args) + ["--initial-cluster-token", "t"],
                               binary=binary)
                        for n in names]

    def start(self):
        for m in self.members:
            m.launch()
        for m in self.members:
            m.wait_ready()
        return self

    def endpoints(self):
        return [m.endpoint for m in self.members]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        for m in self.members:
            m.kill9()
