"""Keeps a lease alive from a background thread, failing over between
members as clientv3's keep-alive loop does.

    with KeepAlive(endpoints, lease_id, interval=1.0) as ka:
        n = ka.count()
        ...kill the member ka talks to...
        ka.wait_for_responses(10, timeout=60, since=n)
    ka.responses   # [(endpoint, TTL)] of every keep-alive answered

Every `interval` seconds one keep-alive is sent with a deadline; an error
(the member died, has no leader yet, ...) moves to the next endpoint and
retries at once. The pause between keep-alives is the keep-alive cadence,
not a wait for an event. A response with TTL <= 0 means the lease is gone:
it is recorded in `lost`, and waiting for responses then fails at once.
"""

import threading

import grpc

from etcd_rpc import Client


class KeepAlive:
    def __init__(self, endpoints, lease_id, interval=1.0, rpc_timeout=2.0):
        self.endpoints = list(endpoints)
        self.lease_id = lease_id
        self.interval = interval
        self.rpc_timeout = rpc_timeout
        self.responses = []  # (endpoint, TTL)
        self.errors = []  # (endpoint, "<code>: <details>")
        self.lost = None  # the endpoint that answered TTL <= 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="keepalive-%x" % lease_id)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def count(self):
        with self._cond:
            return len(self.responses)

    def _run(self):
        clients = [Client(e, self.rpc_timeout) for e in self.endpoints]
        at = 0
        try:
            while not self._stop.is_set():
                client = clients[at]
                try:
                    ttl = client.keep_alive_once(self.lease_id).TTL
                except grpc.RpcError as e:
                    with self._cond:
                        self.errors.append((client.endpoint, "%s: %s" % (e.code(), e.details())))
                    at = (at + 1) % len(clients)
                    self._stop.wait(0.1)  # reconnect backoff
                    continue
                with self._cond:
                    self.responses.append((client.endpoint, ttl))
                    if ttl <= 0:
                        self.lost = client.endpoint
                    self._cond.notify_all()
                if ttl <= 0:
                    return
                self._stop.wait(self.interval)
        finally:
            for c in clients:
                c.close()

    def wait_for_responses(self, n, timeout, since=0):
        """Waits until `n` keep-alives were answered after the first `since`;
        returns the new count. Fails if the lease was reported lost."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self.lost is not None or len(self.responses) >= since + n, timeout)
            assert self.lost is None, "lease %x reported expired (TTL <= 0) by %s" % (
                self.lease_id, self.lost)
            assert ok, "only %d of %d keep-alives answered within %.1fs; errors: %s" % (
                len(self.responses) - since, n, timeout, self.errors[-5:])
            return len(self.responses)
