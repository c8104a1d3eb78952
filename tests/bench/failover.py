"""Leader failover time of a running cluster: from kill -9 of the leader to the
first acknowledged write on the survivors. Used by compare.py --cluster.

    with Cluster(tmp, 3, binary=...) as c:
        result = failover.measure(c, trials=10)
        result["median_ms"], result["max_ms"], result["trials_ms"]

One trial:
  1. Wait until every member names the same leader, then put one key through
     every member (a put returns once the member that took it has applied it,
     so each survivor is caught up and its channel is connected before the
     clock starts).
  2. t0 = just before SIGKILL is sent to the leader.
  3. Keep writing: every INTERVAL_S a put goes out to the next survivor in
     turn (round robin), each with a REQUEST_TIMEOUT_S deadline. Requests are
     pipelined rather than sequential, so the resolution is INTERVAL_S however
     long a doomed request hangs: a follower that still believes in the dead
     leader forwards the proposal into the void and the request only ends at
     its deadline, while a follower that knows there is no leader drops it at
     once (etcd: "no leader at term N; dropping proposal").
  4. t1 = when the first of these writes is acknowledged. Every write counted
     was sent after t0, so one committed by the old leader cannot count.
     Failover time = t1 - t0.
  5. Cancel the writes still pending, restart the killed member on its data
     dir and wait until it is ready.

What this includes: failure detection (a follower's randomized election
timeout, election-timeout .. 2 x election-timeout ticks in etcd's raft), the
(pre-)vote round, the new leader's first commit, and up to INTERVAL_S of
sampling. It does not include a client library's own backoff (etcd's clientv3
waits 25 ms between retries) or endpoint re-resolution.

Both servers run at their defaults apart from the timers: etcd 3.4 does not
pre-vote (--pre-vote defaults to false until 3.5), etcdd's raft always does.
On loopback the extra round trip costs well under a millisecond.

Noise: the survivors' election timeouts are drawn uniformly from 1-2 s, so a
trial is roughly the smaller of two such draws (about 1.33 s on average,
spread +-0.24 s). The median of 10 trials is thus good to about +-0.1 s and
the max is mostly luck; ask for more trials to compare finer than that.
"""

import signal
import statistics
import threading
import time

import grpc
from etcd3 import etcdrpc

import etcd_rpc

INTERVAL_S = 0.01  # a new write every 10 ms while the cluster is leaderless
REQUEST_TIMEOUT_S = 1.0  # per-request deadline (etcd's own default is 5 s + 2 x election)
GIVE_UP_S = 30.0  # a trial with no acknowledged write by then fails the run
READY_S = 30.0  # leader agreement and warm-up puts


def _warm_up(clients):
    def put(c):
        c.put(b"failover/warm-up", b"x", timeout=1.0)
        return True

    for c in clients:
        etcd_rpc.wait_until(lambda: put(c), READY_S, "a put through %s" % c.endpoint)


class _FirstAck:
    """Records when the first of many write futures succeeds."""

    def __init__(self):
        self.done = threading.Event()
        self.at = None
        self._lock = threading.Lock()

    def __call__(self, future):
        now = time.monotonic()
        if future.cancelled() or future.exception() is not None:
            return
        with self._lock:
            if self.at is None:
                self.at = now
                self.done.set()


def _write_until_acknowledged(clients, t0):
    """Pipelined puts round robin over `clients` until one is acknowledged;
    returns its acknowledgement time (time.monotonic)."""
    first = _FirstAck()
    pending = []
    n = 0
    while not first.done.is_set():
        if time.monotonic() - t0 > GIVE_UP_S:
            raise RuntimeError("no write acknowledged %.0f s after killing the leader"
                               % GIVE_UP_S)
        c = clients[n % len(clients)]
        req = etcdrpc.PutRequest(key=b"failover/%d" % n, value=b"x")
        f = c.kv.Put.future(req, timeout=REQUEST_TIMEOUT_S)
        f.add_done_callback(first)
        pending.append(f)
        n += 1
        first.done.wait(INTERVAL_S)  # pacing: returns at once on an acknowledgement
    for f in pending:
        f.cancel()
    return first.at


def one_trial(cluster):
    """Kills the current leader, returns ms to the first acknowledged write, and
    restarts the killed member."""
    leader = etcd_rpc.wait_for_leader(cluster.members, READY_S)
    survivors = [m for m in cluster.members if m is not leader]
    clients = [etcd_rpc.Client(m.endpoint) for m in survivors]
    try:
        with etcd_rpc.Client(leader.endpoint) as c:
            _warm_up([c])
        _warm_up(clients)
        t0 = time.monotonic()
        leader.proc.send_signal(signal.SIGKILL)
        t1 = _write_until_acknowledged(clients, t0)
    finally:
        for c in clients:
            c.close()
    leader.kill9()  # reaps the process (already dead)
    leader.start()
    return (t1 - t0) * 1000.0


def measure(cluster, trials):
    """Runs `trials` failovers on a started cluster; returns {"trials_ms",
    "median_ms", "max_ms"}."""
    times = []
    for _ in range(trials):
        try:
            times.append(one_trial(cluster))
        except grpc.RpcError as e:
            raise RuntimeError("failover trial: %s: %s" % (e.code(), e.details())) from None
    return {"trials_ms": [round(t, 1) for t in times], "median_ms": statistics.median(times),
            "max_ms": max(times)}
