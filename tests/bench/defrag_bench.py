#!/usr/bin/python3
"""Defragmentation under write load, etcdd against real etcd 3.4 in one run
(issue "kvdefrag"): a backend of --size-mib with about half its pages free
(every value written twice, then compacted), then

  - Defragment wall time;
  - the longest put stall while it runs (the slowest put overlapping it, and
    the longest gap between two acknowledged puts during it);
  - put throughput during the defrag, as a fraction of the same load without.

    flock /tmp/etcdd-build.lock ninja -C build -j2 etcdd
    tests/bench/defrag_bench.py [--size-mib 1024] [--json out.json]

The load is --writers Python threads putting 256-byte values, each with its
own channel. Each server runs alone on fresh data, one after the other. Run
by hand, never in CI; about 3-5 minutes and 3x --size-mib of disk under
$TMPDIR at 1 GiB.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import etcd_rpc  # noqa: E402
from etcd_rpc import etcdrpc  # noqa: E402
from etcdd_harness import Server, server_binary  # noqa: E402

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
MIB = 1 << 20


def fill(server, size, value_size):
    """Writes `size` bytes of distinct values twice, then compacts the first
    round away: about half of the backend's pages become free."""
    n = size // value_size // 2
    payload = os.urandom(value_size)
    with etcd_rpc.Client(server.endpoint, timeout=60) as c:
        for round_ in range(2):
            def put(i):
                k = (i + round_ * 31) % 97
                c.put("/bench/%08d" % i, payload[k:] + payload[:k])
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(put, range(n)))
        c.compact(c.status().header.revision, physical=True)
    return db_sizes(server)


def db_sizes(server):
    """(dbSize, dbSizeInUse) from etcdctl (etcd3's stubs predate the latter)."""
    out = subprocess.run([ETCDCTL, "--endpoints", server.endpoint, "endpoint", "status",
                          "-w", "json"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, ETCDCTL_API="3")).stdout
    status = json.loads(out)[0]["Status"]
    return status["dbSize"], status["dbSizeInUse"]


class Load:
    """Puts from `writers` threads until stopped; keeps (start, end) of each
    acknowledged put, in seconds of time.monotonic()."""

    def __init__(self, endpoint, writers):
        self.stop = threading.Event()
        self.done = [[] for _ in range(writers)]
        self.failed = [[] for _ in range(writers)]
        self.threads = [threading.Thread(target=self._run, args=(endpoint, i))
                        for i in range(writers)]

    def _run(self, endpoint, i):
        value = b"x" * 256
        n = 0
        with etcd_rpc.Client(endpoint, timeout=120) as c:
            while not self.stop.is_set():
                start = time.monotonic()
                try:
                    c.put("/load/%d/%08d" % (i, n % 10000), value)
                except grpc.RpcError:
                    # etcd's defrag stops the member: puts time out. The
                    # attempt still counts as a stall, not as a put.
                    self.failed[i].append((start, time.monotonic()))
                    continue
                self.done[i].append((start, time.monotonic()))
                n += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()

    def within(self, t0, t1):
        """Throughput (puts/s) of the puts acknowledged in [t0, t1], the
        slowest put attempt overlapping it (s; failed attempts included), and
        the longest gap between acknowledgements in it (s)."""
        ends = sorted(e for d in self.done for s, e in d if t0 <= e <= t1)
        slowest = max((e - s for d in self.done + self.failed for s, e in d
                       if s <= t1 and e >= t0), default=0.0)
        points = [t0] + ends + [t1]
        gap = max(b - a for a, b in zip(points, points[1:]))
        return len(ends) / (t1 - t0), slowest, gap


def measure(binary, args, tmp):
    value_size = args.value_kib * 1024
    quota = str(4 * args.size_mib * MIB)
    with Server(tmp, binary=binary, ready_timeout=60,
                extra_args=["--quota-backend-bytes", quota]) as server:
        started = time.time()
        size, in_use = fill(server, args.size_mib * MIB, value_size)
        print("%s: filled in %.0f s: dbSize %d MiB, in use %d MiB" % (
            os.path.basename(binary), time.time() - started, size // MIB, in_use // MIB),
            file=sys.stderr)
        with Load(server.endpoint, args.writers) as load:
            time.sleep(1.0)  # the load's warm-up; a measurement window, not a wait
            t0 = time.monotonic()
            time.sleep(args.baseline_seconds)
            t1 = time.monotonic()
            with etcd_rpc.Client(server.endpoint, timeout=600) as c:
                d0 = time.monotonic()
                c.maintenance.Defragment(etcdrpc.DefragmentRequest())
                d1 = time.monotonic()
            after, _ = db_sizes(server)
        alone, _, _ = load.within(t0, t1)
        during, slowest, gap = load.within(d0, d1)
        # etcdd logs how long the swap held writes off.
        paused = [json.loads(line).get("writes-paused") for line in server.log
                  if '"msg":"defragmented"' in line]
    return {"db_size_before": size, "db_size_in_use_before": in_use,
            "db_size_after": after, "defrag_seconds": d1 - d0,
            "put_throughput_alone": alone, "put_throughput_during": during,
            "slowest_put_ms": slowest * 1000, "longest_gap_ms": gap * 1000,
            "writes_paused": paused[0] if paused else None,
            "failed_puts": sum(len(f) for f in load.failed)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--value-kib", type=int, default=64)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--baseline-seconds", type=float, default=5.0)
    ap.add_argument("--only", choices=("etcd", "etcdd"), help="measure one server only")
    ap.add_argument("--json")
    args = ap.parse_args()
    results = {}
    for name, binary in (("etcd", ETCD), ("etcdd", server_binary())):
        if args.only and name != args.only:
            results[name] = None
            continue
        with tempfile.TemporaryDirectory(prefix="etcdd-defragbench-") as tmp:
            results[name] = measure(binary, args, tmp)
    if args.only:
        print(json.dumps(results[args.only], indent=2))
        return
    e, d = results["etcd"], results["etcdd"]
    rows = [
        ("dbSize before (MiB)", e["db_size_before"] / MIB, d["db_size_before"] / MIB, None),
        ("dbSize after (MiB)", e["db_size_after"] / MIB, d["db_size_after"] / MIB, None),
        ("defrag wall time (s)", e["defrag_seconds"], d["defrag_seconds"],
         d["defrag_seconds"] / e["defrag_seconds"]),
        ("slowest put during defrag (ms)", e["slowest_put_ms"], d["slowest_put_ms"],
         d["slowest_put_ms"] / e["slowest_put_ms"]),
        ("longest gap between puts (ms)", e["longest_gap_ms"], d["longest_gap_ms"],
         d["longest_gap_ms"] / e["longest_gap_ms"]),
        ("puts/s without defrag", e["put_throughput_alone"], d["put_throughput_alone"], None),
        ("puts/s during defrag", e["put_throughput_during"], d["put_throughput_during"], None),
        ("during / without", e["put_throughput_during"] / e["put_throughput_alone"],
         d["put_throughput_during"] / d["put_throughput_alone"], None),
        ("put attempts failed during defrag", e["failed_puts"], d["failed_puts"], None),
    ]
    print("| figure | etcd | etcdd | etcdd / etcd |")
    print("|---|---|---|---|")
    for name, ev, dv, ratio in rows:
        print("| %s | %.2f | %.2f | %s |" % (name, ev, dv, "%.2f" % ratio if ratio else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
