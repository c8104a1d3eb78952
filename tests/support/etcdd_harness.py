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

Network faults between members: `Cluster(tmpdir, 3, peer_proxies=True)` puts a
TcpProxy (tcp_proxy.py) in front of every member's peer listener. A member
listens on its real peer port but advertises the proxy's port
(--initial-advertise-peer-urls and --initial-cluster), so every byte of peer
traffic into member X passes X's proxy. Every member dials the same advertised
URL of X, so the proxy tells senders apart by the process owning the client
socket (tcp_proxy.ProcessIdentifier, /proc). `cluster.isolate(m)` then blocks
m's proxy for everyone and every other proxy for connections from m: m can
neither send nor receive peer traffic, while clients still reach it.
`cluster.partition([a], [b, c])` cuts along any groups; `cluster.heal()` undoes.
"""

import fcntl
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading

from tcp_proxy import ProcessIdentifier, TcpProxy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(REPO, "build", "cmd", "etcdd", "etcdd")


# Ports handed out by free_port(), one lock file each; the locks are held
# until this process exits.
PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "etcdd-test-ports")
_port_locks = []
_port_random = random.SystemRandom()


def _ephemeral_port_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port that no other test process gets while this one runs.

    A test server keeps its ports across restarts (a member must come back on
    the URLs its peers know), so between a kill and a restart its ports are
    unbound. A port picked with bind(0) comes from the kernel's ephemeral
    range: another test run in parallel (ctest -j2) could get the same one
    from bind(0) meanwhile, or the kernel could give it to an outgoing
    connection. So the port is drawn from below that range, where bind(0)
    and connect() never look, and reserved with a lock file (flock) that
    other test processes honour. It must also be bindable now."""
    os.makedirs(PORT_LOCK_DIR, exist_ok=True)
    low, high = 10000, _ephemeral_port_low()
    for _ in range(1000):
        port = _port_random.randrange(low, high)
        fd = os.open(os.path.join(PORT_LOCK_DIR, str(port)), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
        except OSError:  # locked by another test process, or bound by anything
            os.close(fd)
            continue
        _port_locks.append(fd)
        return port
    raise RuntimeError("no free port in [%d, %d)" % (low, high))


def server_binary():
    return os.environ.get("ETCDD_BIN", DEFAULT_BIN)


def is_real_etcd():
    return os.path.basename(server_binary()) == "etcd"


class Server:
    def __init__(self, tmpdir, name="default", client_port=None, peer_port=None,
                 extra_args=(), ready_timeout=30, binary=None, initial_cluster=None,
                 advertise_peer_port=None, client_scheme="http", peer_scheme="http", env=None):
        self.binary = binary or server_binary()
        self.name = name
        self.data_dir = os.path.join(str(tmpdir), name + ".etcd")
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()  # listened on
        # Advertised to peers; differs from peer_port when a proxy is in between.
        self.advertise_peer_port = advertise_peer_port or self.peer_port
        self.endpoint = "127.0.0.1:%d" % self.client_port
        # "https" serves/dials TLS; the TLS flags come in extra_args.
        self.client_scheme = client_scheme
        self.peer_scheme = peer_scheme
        self.env = env  # the process's environment; None: this one's
        self.extra_args = list(extra_args)
        self.initial_cluster = initial_cluster  # None: this member alone
        self.ready_timeout = ready_timeout
        self.proc = None
        self.log = []
        self._ready = threading.Event()
        self._reader = None

    def args(self):
        listen_peer = "%s://127.0.0.1:%d" % (self.peer_scheme, self.peer_port)
        peer = "%s://127.0.0.1:%d" % (self.peer_scheme, self.advertise_peer_port)
        client = self.client_scheme + "://" + self.endpoint
        return [self.binary, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", listen_peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", self.initial_cluster or "%s=%s" % (self.name, peer),
                ] + self.extra_args

    @property
    def pid(self):
        """The running process's pid, or None."""
        return self.proc.pid if self.running() else None

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
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     env=self.env)
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

    With peer_proxies=True, peer traffic goes through one TcpProxy per member
    (see the module comment) and isolate/partition/heal cut and restore it.
    """

    def __init__(self, tmpdir, size, extra_args=(), binary=None, peer_proxies=False,
                 peer_scheme="http", member_args=None):
        """`member_args(name)`, if given, adds arguments for one member."""
        names = ["m%d" % i for i in range(size)]
        peers = {n: free_port() for n in names}
        self.proxies = {}  # member name -> TcpProxy in front of its peer listener
        if peer_proxies:
            identify = ProcessIdentifier(self._member_pids)
            self.proxies = {n: TcpProxy(peers[n], identify=identify).start() for n in names}
        advertised = {n: self.proxies[n].port if n in self.proxies else peers[n] for n in names}
        initial = ",".join("%s=%s://127.0.0.1:%d" % (n, peer_scheme, p)
                           for n, p in advertised.items())
        self.members = [Server(tmpdir, name=n, peer_port=peers[n], initial_cluster=initial,
                               advertise_peer_port=advertised[n],
                               extra_args=list(extra_args) + ["--initial-cluster-token", "t"] +
                               list(member_args(n) if member_args else []),
                               binary=binary, peer_scheme=peer_scheme)
                        for n in names]

    def member(self, name):
        return next(m for m in self.members if m.name == name)

    def _member_pids(self):
        pids = {}
        for m in self.members:
            pid = m.pid
            if pid is not None:
                pids[pid] = m.name
        return pids

    def partition(self, *groups, mode="refuse"):
        """Cuts peer traffic between the given groups of members (Server objects
        or names); members in no group form one more group. Traffic inside a
        group flows. `mode` is a TcpProxy blocking mode."""
        assert self.proxies, "partition needs Cluster(..., peer_proxies=True)"
        self.heal()
        names = [{m if isinstance(m, str) else m.name for m in g} for g in groups]
        rest = {m.name for m in self.members} - set().union(*names)
        if rest:
            names.append(rest)
        for group in names:
            outsiders = {m.name for m in self.members} - group
            for n in group:
                self.proxies[n].block_sources(outsiders, mode)

    def isolate(self, member, mode="refuse"):
        """Cuts `member` (Server or name) off from every other member, both ways.
        Its client port stays reachable."""
        name = member if isinstance(member, str) else member.name
        self.heal()
        self.proxies[name].block(mode)
        for n, proxy in self.proxies.items():
            if n != name:
                proxy.block_sources({name}, mode)

    def heal(self, close_blackholed=True):
        """Restores peer traffic; see TcpProxy.heal for `close_blackholed`."""
        for proxy in self.proxies.values():
            proxy.heal(close_blackholed)

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
        for proxy in self.proxies.values():
            proxy.close()
