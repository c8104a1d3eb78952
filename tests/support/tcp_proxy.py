"""A test-controlled TCP proxy, for network faults between cluster members.

    proxy = TcpProxy(target_port).start()   # forwards proxy.port -> target_port
    proxy.block()                           # nobody gets through; live links cut
    proxy.heal()
    proxy.close()

A proxy sits in front of one listener (a member's peer port). It can block
everybody (`block()`) or only connections coming from named sources
(`block_sources({"m1"})`): who a connection comes from is answered by the
`identify` callback, given the client's (host, port) and the proxy's port. On loopback a source
address says nothing about which process dialled, so `ProcessIdentifier`
answers by looking the client socket up in /proc/net/tcp and finding the
process holding it among known pids (Linux; no root needed for processes of the
same user). That is what lets a harness cut one member off from the others
although every member dials the same advertised peer URL of a peer.

Why this design: a member has one advertised peer URL that every other member
dials, so per-pair proxies cannot be expressed with etcd's flags; members do
not bind their outgoing connections, so all of them come from 127.0.0.1 and
distinct loopback addresses do not help; network namespaces and iptables
would, but need root, which CI does not promise. Looking the dialling process
up in /proc needs nothing but Linux, and works for etcd (HTTP peer streams)
and etcdd (gRPC) alike without understanding either protocol.

Blocking modes:
  "refuse"    existing connections are closed; new ones are accepted and
              closed at once (the sender sees resets, like a rejecting firewall).
  "blackhole" existing and new connections stay open but every byte in either
              direction is read and discarded (the sender sees a silent peer,
              like dropped packets). On heal, blackholed connections are closed:
              their streams lost bytes and cannot resume (heal(False) leaves
              them silent instead, for the endpoints' timeouts to find).

Thread-safety: every public method may be called from any thread. The proxy
runs one accept thread and two pump threads per live connection, all daemons,
all stopped by close().
"""

import errno
import os
import socket
import threading

_BUF = 64 * 1024


class _Link:
    """One proxied connection: the accepted client socket and its upstream."""

    def __init__(self, client, upstream, source):
        self.client = client
        self.upstream = upstream
        self.source = source
        self.blackholed = False
        self.closed = False

    def close(self):
        if self.closed:
            return
        self.closed = True
        for s in (self.client, self.upstream):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class TcpProxy:
    """Forwards 127.0.0.1:port to target_host:target_port until told not to."""

    def __init__(self, target_port, listen_port=0, target_host="127.0.0.1", identify=None,
                 host="127.0.0.1"):
        self.target = (target_host, target_port)
        # identify((host, port) of a client, proxy port) -> source name or None
        self.identify = identify
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, listen_port))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._links = set()
        self._block_all = None         # None or the mode blocking everybody
        self._blocked_sources = {}     # source name -> mode
        self._closed = False
        self._accepter = None
        self.accepted = 0  # connections accepted, blocked or not (for tests of the proxy)

    def start(self):
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True,
                                          name="proxy-accept-%d" % self.port)
        self._accepter.start()
        return self

    # -- control --------------------------------------------------------------

    def block(self, mode="refuse"):
        """Blocks every connection in both directions, cutting live ones."""
        _check_mode(mode)
        with self._lock:
            self._block_all = mode
            links = list(self._links)
        self._apply(links, mode)

    def block_sources(self, sources, mode="refuse"):
        """Blocks connections whose `identify` answer is in `sources` (adds to
        the blocked set). While any source is blocked, connections whose source
        could not be identified are blocked too (fail closed: a wrongly blocked
        connection is retried, a wrongly passed one breaks the partition)."""
        _check_mode(mode)
        sources = set(sources)
        with self._lock:
            for s in sources:
                self._blocked_sources[s] = mode
            links = [link for link in self._links
                     if link.source in sources or link.source is None]
        self._apply(links, mode)

    def heal(self, close_blackholed=True):
        """Lets everything through again. Blackholed connections are closed,
        unless `close_blackholed` is False: then they stay open and silent
        forever, as a connection that lost packets does on a real network,
        and only the endpoints' own timeouts can end them."""
        with self._lock:
            self._block_all = None
            self._blocked_sources.clear()
            stale = [link for link in self._links if link.blackholed]
        if not close_blackholed:
            return
        for link in stale:
            self._drop(link)

    def blocked(self):
        with self._lock:
            return self._block_all is not None or bool(self._blocked_sources)

    def live_connections(self):
        with self._lock:
            return len(self._links)

    def close(self):
        with self._lock:
            self._closed = True
            links = list(self._links)
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        for link in links:
            self._drop(link)
        if self._accepter is not None:
            self._accepter.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- internals ------------------------------------------------------------

    def _mode_for(self, source):
        """The blocking mode for a connection from `source`, or None. Lock held."""
        if self._block_all is not None:
            return self._block_all
        if source is None and self._blocked_sources:
            return next(iter(self._blocked_sources.values()))
        return self._blocked_sources.get(source)

    def _apply(self, links, mode):
        for link in links:
            if mode == "refuse":
                self._drop(link)
            else:
                link.blackholed = True

    def _drop(self, link):
        with self._lock:
            self._links.discard(link)
        link.close()

    def _accept_loop(self):
        while True:
            try:
                client, addr = self._listener.accept()
            except OSError:
                return  # closed
            self.accepted += 1
            with self._lock:
                if self._closed:
                    client.close()
                    return
            threading.Thread(target=self._open, args=(client, addr), daemon=True,
                             name="proxy-link-%d" % self.port).start()

    def _open(self, client, addr):
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Identified before anything is forwarded, so a blocked source never
        # gets a byte through.
        source = self.identify(addr, self.port) if self.identify else None
        with self._lock:
            mode = self._mode_for(source)
        if mode == "refuse":
            client.close()
            return
        upstream = None
        if mode is None:
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
                upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                client.close()  # target down: the client sees the connection drop
                return
        link = _Link(client, upstream, source)
        link.blackholed = mode == "blackhole"
        with self._lock:
            if self._closed:
                link.close()
                return
            self._links.add(link)
            # The verdict may have changed while dialling.
            late = self._mode_for(source)
        if late == "refuse" or (late is None and upstream is None):
            self._drop(link)  # refused now, or healed while being blackholed
            return
        link.blackholed = late == "blackhole"
        threading.Thread(target=self._pump, args=(link, client, upstream, True),
                         daemon=True).start()
        if upstream is not None:
            self._pump(link, upstream, client, False)

    def _pump(self, link, src, dst, from_client):
        try:
            while True:
                data = src.recv(_BUF)
                if not data:
                    break
                if link.blackholed or dst is None:
                    continue
                dst.sendall(data)
        except OSError:
            pass
        # Behind a blackhole the client must not see the upstream go away.
        if from_client or not link.blackholed:
            self._drop(link)


def _check_mode(mode):
    if mode not in ("refuse", "blackhole"):
        raise ValueError("mode must be 'refuse' or 'blackhole', not %r" % (mode,))


class ProcessIdentifier:
    """Names the process that owns the client end of a loopback connection.

    `pids` is a callable returning {pid: name} for the processes of interest
    (asked on every lookup, so restarted processes are found). A connection
    accepted by a proxy listening on `server_port` from client port P is the
    socket whose local port is P and remote port is `server_port` in
    /proc/net/tcp (or tcp6); its inode is matched against the socket links in
    /proc/<pid>/fd of each candidate process.
    """

    def __init__(self, pids):
        self.pids = pids

    def __call__(self, addr, server_port):
        inode = _socket_inode(addr[1], server_port)
        if inode is None:
            return None
        target = "socket:[%s]" % inode
        for pid, name in self.pids().items():
            fd_dir = "/proc/%d/fd" % pid
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(os.path.join(fd_dir, fd)) == target:
                        return name
                except OSError as e:
                    if e.errno not in (errno.ENOENT, errno.EACCES):
                        raise
        return None


def _socket_inode(local_port, remote_port):
    """The inode of the TCP socket with these local and remote ports, or None."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    if (int(local.rsplit(":", 1)[1], 16) == local_port
                            and int(remote.rsplit(":", 1)[1], 16) == remote_port
                            and inode != "0"):
                        return inode
        except OSError:
            continue
    return None
