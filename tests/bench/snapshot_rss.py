#!/usr/bin/python3
"""Memory of a snapshot transfer: a member joins a cluster whose leader has
compacted its log, so the leader sends it a copy of the whole backend
(lib/snap/FORMAT.md). Prints how much the resident memory of each member
grows meanwhile; the transfer streams from file to file, so the growth
should stay far below the backend's size.

    flock /tmp/etcdd-build.lock ninja -C build -j2 etcdd
    tests/bench/snapshot_rss.py [--size-mib 1024] [--value-kib 64] [--json out.json]
    ETCDD_BIN=/usr/bin/etcd tests/bench/snapshot_rss.py ...   # the same with etcd

Steps: start one member with --snapshot-count 1000; write --size-mib of
random (incompressible) values under distinct keys; `member add` a second
member and start it with --initial-cluster-state existing; sample both
processes' /proc/<pid>/status every 20 ms until the new member has installed
the snapshot and caught up. Reported per member, in MiB: RSS before and its
peak, and the peak growth of RssAnon (heap: what a whole-file buffer would
show) and RssFile (pages of mapped files: the backend's LMDB map, read while
the copy is cut or written while it is installed; the kernel can drop them
at any time).

Run by hand, never in CI (timing and sizes live in benchmarks). About 1-2
minutes and 3x --size-mib of disk under $TMPDIR.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import etcd3

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcd_rpc import Client, wait_until  # noqa: E402
from etcdd_harness import Server, free_port  # noqa: E402

MIB = 1 << 20


def memory(pid):
    """VmRSS, RssAnon and RssFile of `pid`, bytes; None once it is gone."""
    fields = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    fields[key] = int(value.split()[0]) * 1024
    except OSError:
        return None
    return fields


class Sampler:
    """Polls the memory of some processes until stopped; keeps the first
    sample and the peak of each field."""

    def __init__(self, pids):
        self.pids = pids
        self.first = {}
        self.peak = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, pid in list(self.pids.items()):
                m = memory(pid)
                if m is None:
                    continue
                self.first.setdefault(name, m)
                peak = self.peak.setdefault(name, dict(m))
                for k, v in m.items():
                    peak[k] = max(peak[k], v)
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def client_for(server):
    host, port = server.endpoint.split(":")
    return etcd3.client(host=host, port=int(port), timeout=60)


def caught_up(leader, joiner):
    """The joiner applied everything the leader has committed (it installed
    the snapshot: nothing else brings it there, the log being compacted)."""
    with Client(leader.endpoint) as lc, Client(joiner.endpoint) as jc:
        return jc.status().header.revision >= lc.status().header.revision


def fill(server, size, value_size):
    values = size // value_size
    payload = os.urandom(value_size)
    client = client_for(server)

    def put(i):
        # Distinct bytes per key so that nothing dedups or compresses.
        client.put("/bench/%08d" % i, payload[i % 97:] + payload[:i % 97])
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(values)))
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--value-kib", type=int, default=64)
    ap.add_argument("--json")
    args = ap.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="etcdd-snaprss-") as tmp:
        common = ["--snapshot-count", "1000", "--quota-backend-bytes", str(8 << 30),
                  "--initial-cluster-token", "t"]
        leader = Server(tmp, name="m1", extra_args=common, ready_timeout=60).start()
        try:
            started = time.time()
            n = fill(leader, size, args.value_kib * 1024)
            print("wrote %d values (%d MiB) in %.0f s" % (n, size // MIB, time.time() - started),
                  file=sys.stderr)
            peer_port = free_port()
            peer_url = "http://127.0.0.1:%d" % peer_port
            client_for(leader).add_member([peer_url])
            joiner = Server(tmp, name="m2", peer_port=peer_port, ready_timeout=600,
                            initial_cluster="m1=http://127.0.0.1:%d,m2=%s" % (
                                leader.peer_port, peer_url),
                            extra_args=common + ["--initial-cluster-state", "existing"])
            before = {"leader": memory(leader.pid)}
            started = time.time()
            with Sampler({"leader": leader.pid}) as sampler:
                joiner.launch()
                sampler.pids["joiner"] = joiner.proc.pid
                joiner.wait_ready()
                try:
                    wait_until(lambda: caught_up(leader, joiner), 600, "joiner caught up")
                except AssertionError:
                    print("".join(joiner.log[-40:]), file=sys.stderr)
                    raise
            took = time.time() - started
            before["joiner"] = sampler.first["joiner"]
            report = {"size_mib": size // MIB, "transfer_s": round(took, 1)}
            for name in ("leader", "joiner"):
                b, p = before[name], sampler.peak[name]
                report[name] = {
                    "rss_before_mib": round(b["VmRSS"] / MIB, 1),
                    "rss_peak_mib": round(p["VmRSS"] / MIB, 1),
                    "rss_anon_growth_mib": round((p["RssAnon"] - b["RssAnon"]) / MIB, 1),
                    "rss_file_growth_mib": round((p["RssFile"] - b["RssFile"]) / MIB, 1),
                }
            print(json.dumps(report, indent=2))
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(report, f, indent=2)
            joiner.stop()
        finally:
            leader.stop()


if __name__ == "__main__":
    main()
