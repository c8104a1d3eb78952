"""Client load on a cluster for fault tests, recorded for later checking.

    load = Workload(cluster.members, keys=["/lin/0", "/lin/1"], writers=3, readers=2)
    load.start()
    load.wait_for_acks(20, timeout=10)     # progress is the event waited for
    ...faults...
    load.stop()
    load.acked       # [(key, value, revision)] of every acknowledged put
    load.history     # linearizability.History of every put and read

Writers put unique values ("w<writer>-<seq>") to random keys; readers do
linearizable gets of random keys. Each worker talks to one member at a time and
fails over to the next member after any error, as etcd clients do; a failed
put is recorded as indeterminate (it may have been applied) and is never
retried with the same value, so values stay unique. Every RPC has a deadline
(`rpc_timeout` seconds), so workers never hang on a dead or partitioned member.
"""

import random
import threading

import grpc

from etcd_rpc import Client
from linearizability import History


class Workload:
    def __init__(self, servers, keys, writers=3, readers=2, rpc_timeout=2.0, seed=0):
        self.endpoints = [s.endpoint for s in servers]
        self.keys = [k.encode() if isinstance(k, str) else k for k in keys]
        self.writers = writers
        self.readers = readers
        self.rpc_timeout = rpc_timeout
        self.seed = seed
        self.history = History()
        self.acked = []            # (key, value, revision) of acknowledged puts
        self.acked_via = []        # the endpoint that acknowledged each of them
        self.errors = {}           # "<code>: <details>" -> count, for diagnostics
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        for i in range(self.writers):
            self._spawn(self._write_loop, "w%d" % i, i)
        for i in range(self.readers):
            self._spawn(self._read_loop, "r%d" % i, self.writers + i)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join()
        self._threads = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def ack_count(self):
        with self._cond:
            return len(self.acked)

    def wait_for_acks(self, n, timeout, since=None):
        """Waits until `n` puts were acknowledged after the count `since`
        (default: now); returns the new count. Fails after `timeout` seconds."""
        with self._cond:
            base = len(self.acked) if since is None else since
            if not self._cond.wait_for(lambda: len(self.acked) >= base + n, timeout):
                raise AssertionError(
                    "only %d of %d puts acknowledged within %.1fs; errors seen: %s"
                    % (len(self.acked) - base, n, timeout, self._top_errors()))
            return len(self.acked)

    def _top_errors(self):
        return sorted(self.errors.items(), key=lambda e: -e[1])[:5]

    def _spawn(self, fn, name, index):
        t = threading.Thread(target=fn, args=(name, index), daemon=True, name="load-" + name)
        self._threads.append(t)
        t.start()

    def _record_error(self, e):
        key = "%s: %s" % (e.code(), e.details()) if isinstance(e, grpc.RpcError) else repr(e)
        with self._cond:
            self.errors[key] = self.errors.get(key, 0) + 1

    def _clients(self):
        return [Client(e, self.rpc_timeout) for e in self.endpoints]

    def _write_loop(self, name, index):
        rng = random.Random("%s-%s" % (self.seed, name))
        clients = self._clients()
        at = index % len(clients)
        seq = 0
        try:
            while not self._stop.is_set():
                key = rng.choice(self.keys)
                value = ("%s-%d" % (name, seq)).encode()
                seq += 1
                op = self.history.invoke(name, "write", key, value)
                try:
                    resp = clients[at].put(key, value)
                except grpc.RpcError as e:
                    self.history.unknown(op)
                    self._record_error(e)
                    at = (at + 1) % len(clients)
                    continue
                self.history.ok(op)
                with self._cond:
                    self.acked.append((key, value, resp.header.revision))
                    self.acked_via.append(clients[at].endpoint)
                    self._cond.notify_all()
        finally:
            for c in clients:
                c.close()

    def _read_loop(self, name, index):
        rng = random.Random("%s-%s" % (self.seed, name))
        clients = self._clients()
        at = index % len(clients)
        try:
            while not self._stop.is_set():
                key = rng.choice(self.keys)
                op = self.history.invoke(name, "read", key)
                try:
                    resp = clients[at].get(key)
                except grpc.RpcError as e:
                    self.history.unknown(op)
                    self._record_error(e)
                    at = (at + 1) % len(clients)
                    continue
                self.history.ok(op, resp.kvs[0].value if resp.kvs else None)
        finally:
            for c in clients:
                c.close()
