#!/usr/bin/env python3
"""Runs kvbench against real etcd and against etcdd in one run and prints the
figures side by side with their ratios (etcdd / etcd).

    tests/bench/compare.py [--quick]

Both servers are single members on loopback with fresh data dirs, measured one
after the other so they never compete for the two cores.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from etcdd_harness import REPO, Server  # noqa: E402

KVBENCH = os.path.join(REPO, "build", "tests", "bench", "kvbench")
ETCDD = os.path.join(REPO, "build", "cmd", "etcdd", "etcdd")
ETCD = "/usr/bin/etcd"


def kvbench(endpoint, *args):
    run = subprocess.run([KVBENCH, "--endpoint", endpoint] + list(args),
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("kvbench %s failed: %s%s" % (" ".join(args), run.stderr, run.stdout))
    return json.loads(run.stdout)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(binary, scale):
    results = {}
    with tempfile.TemporaryDirectory() as tmp, Server(tmp, binary=binary) as s:
        ep = s.endpoint
        results["put 1 client"] = kvbench(ep, "--op", "put", "--clients", "1",
                                          "--total", str(2000 * scale))
        results["put 100 clients"] = kvbench(ep, "--op", "put", "--clients", "100", "--conns",
                                             "10", "--total", str(20000 * scale))
        results["range linearizable 100 clients"] = kvbench(
            ep, "--op", "range", "--consistency", "l", "--clients", "100", "--conns", "10",
            "--total", str(20000 * scale))
        results["range serializable 100 clients"] = kvbench(
            ep, "--op", "range", "--consistency", "s", "--clients", "100", "--conns", "10",
            "--total", str(50000 * scale))
        kvbench(ep, "--op", "put", "--clients", "100", "--conns", "10", "--total", "100000",
                "--sequential-keys")
        results["rss after 100k keys (KiB)"] = rss_kib(s.proc.pid)
    return results


def main():
    scale = 1 if "--quick" in sys.argv else 3
    etcd = measure(ETCD, scale)
    etcdd = measure(ETCDD, scale)
    print("%-34s %14s %14s %8s" % ("scenario", "etcd", "etcdd", "ratio"))
    for name in etcd:
        a, b = etcd[name], etcdd[name]
        if isinstance(a, dict):
            print("%-34s %12.0f/s %12.0f/s %8.2f" % (name, a["throughput"], b["throughput"],
                                                      b["throughput"] / a["throughput"]))
            print("%-34s %11.2fms %11.2fms %8.2f" % ("  p99", a["p99_ms"], b["p99_ms"],
                                                      b["p99_ms"] / max(a["p99_ms"], 1e-9)))
        else:
            print("%-34s %14d %14d %8.2f" % (name, a, b, b / a))


if __name__ == "__main__":
    main()
