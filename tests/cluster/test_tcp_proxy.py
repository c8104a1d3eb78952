"""The fault-injection TCP proxy (tests/support/tcp_proxy.py): forwarding,
blocking everybody or chosen sources (refuse and blackhole), healing, and
naming the process behind a loopback connection."""

import os
import socket
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tcp_proxy import ProcessIdentifier, TcpProxy  # noqa: E402


class EchoServer:
    """Echoes every byte back, one thread per connection."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            try:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def round_trip(sock, data=b"ping"):
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(4096)
        if not chunk:
            return got
        got += chunk
    return got


def closed_by_peer(sock):
    """True when the connection ends (EOF or reset) instead of echoing."""
    try:
        sock.sendall(b"x")
        return sock.recv(1) == b""
    except OSError:
        return True


def silent(sock, wait=0.3):
    """True when nothing comes back within `wait` seconds (the connection
    neither echoes nor closes)."""
    sock.sendall(b"x")
    sock.settimeout(wait)
    try:
        sock.recv(1)
    except socket.timeout:
        return True
    return False


def test_forwards_both_ways(echo):
    with TcpProxy(echo.port) as proxy:
        with connect(proxy.port) as s:
            assert round_trip(s, b"hello" * 1000) == b"hello" * 1000
            assert proxy.live_connections() == 1


def test_block_cuts_live_connections_and_refuses_new_ones_until_healed(echo):
    with TcpProxy(echo.port) as proxy:
        live = connect(proxy.port)
        assert round_trip(live) == b"ping"
        proxy.block()
        assert closed_by_peer(live)
        with connect(proxy.port) as s:
            assert closed_by_peer(s)
        proxy.heal()
        with connect(proxy.port) as s:
            assert round_trip(s) == b"ping"
        live.close()


def test_blackhole_keeps_connections_open_but_silent(echo):
    with TcpProxy(echo.port) as proxy:
        live = connect(proxy.port)
        assert round_trip(live) == b"ping"
        proxy.block("blackhole")
        assert silent(live)
        with connect(proxy.port) as s:
            assert silent(s)
        # On heal, blackholed streams are closed (they lost bytes).
        proxy.heal()
        live.settimeout(5)
        assert closed_by_peer(live)
        with connect(proxy.port) as s:
            assert round_trip(s) == b"ping"


def test_blocks_only_the_named_sources(echo):
    sources = {}  # client port -> name, filled in before connecting

    def identify(addr, _proxy_port):
        return sources.get(addr[1])

    with TcpProxy(echo.port, identify=identify) as proxy:
        def dial(name):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            if name:
                sources[s.getsockname()[1]] = name
            s.connect(("127.0.0.1", proxy.port))
            s.settimeout(5)
            return s

        a, b, unknown = dial("a"), dial("b"), dial(None)
        assert all(round_trip(s) == b"ping" for s in (a, b, unknown))
        proxy.block_sources({"a"})
        assert closed_by_peer(a)
        assert round_trip(b, b"still") == b"still"
        # Fail closed: while a source is blocked, unidentified ones are too.
        assert closed_by_peer(unknown)
        with dial("a") as again, dial(None) as unknown_again:
            assert closed_by_peer(again) and closed_by_peer(unknown_again)
        with dial("b") as other:
            assert round_trip(other) == b"ping"
        proxy.heal()
        with dial("a") as healed:
            assert round_trip(healed) == b"ping"
        for s in (a, b, unknown):
            s.close()


CHILD = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x")
s.recv(1)
sys.stdin.read()
"""


def test_process_identifier_names_the_connecting_process(echo):
    seen = []
    identified = threading.Event()
    launched = threading.Event()
    child = None

    def identify(addr, proxy_port):
        launched.wait(10)
        seen.append(ProcessIdentifier(lambda: {child.pid: "child"})(addr, proxy_port))
        identified.set()
        return seen[-1]

    with TcpProxy(echo.port, identify=identify) as proxy:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(proxy.port)],
                                 stdin=subprocess.PIPE)
        launched.set()
        try:
            assert identified.wait(10)
            # A connection from this process is not the child's.
            with connect(proxy.port) as s:
                assert round_trip(s) == b"ping"
        finally:
            child.stdin.close()
            child.wait(10)
    assert seen == ["child", None]
