#!/usr/bin/python3
"""Where a committed write's CPU goes in an etcdd cluster: CPU time and
context switches per acknowledged put, for each thread of the leader and of
the followers, at 1 client and at 100 clients (puts to the leader).

    flock /tmp/etcdd-build.lock ninja -C build -j2 kvbench etcdd
    tests/bench/write_path.py [--members 3] [--scale 1] [--json out.json]

The figures come from /proc/<pid>/task/*/{stat,status} before and after each
kvbench run (utime + stime, voluntary + involuntary context switches), summed
over the threads of one name and, for followers, averaged over them. etcdd
names its threads (etcdd-raft: the Raft loop, WAL and peer sends; etcdd-apply:
apply, backend commit and responses; etcdd-wnotify/etcdd-wsync: watch
delivery; etcdd-lease); gRPC's are nexting_thread (callback-API completions:
client calls and peer streams), default-executo and the timers; "etcdd" is
everything unnamed (main, peer dialers, synchronous gRPC handlers).
lib/server/WRITE_PATH.md reads these tables beside a perf profile.

etcd is measured per process only (Go threads carry no names): add
--binary /usr/bin/etcd to see its totals. Run on a quiet machine.

Needs Debian's python3-grpcio and python3-etcd3, hence /usr/bin/python3.
"""

import argparse
import collections
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from etcdd_harness import Cluster, server_binary  # noqa: E402
import etcd_rpc  # noqa: E402
from compare import TIMERS, kvbench, stat_cpu_seconds  # noqa: E402


def thread_counters(pid):
    """{thread name: [cpu seconds, context switches]} over pid's threads."""
    out = collections.defaultdict(lambda: [0.0, 0])
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                name = f.read().strip()
            cpu = stat_cpu_seconds(base + "stat")
            with open(base + "status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue  # the thread ended meanwhile
        out[name][0] += cpu
        out[name][1] += (int(status["voluntary_ctxt_switches"]) +
                         int(status["nonvoluntary_ctxt_switches"]))
    return out


def per_write(before, after, writes, members):
    """{thread name: {"cpu_us", "ctxsw"}} per write, averaged over `members`."""
    rows = {}
    for name in set(before) | set(after):
        a, b = before.get(name, [0.0, 0]), after.get(name, [0.0, 0])
        rows[name] = {"cpu_us": (b[0] - a[0]) * 1e6 / writes / members,
                      "ctxsw": (b[1] - a[1]) / writes / members}
    return rows


def sum_counters(counters):
    total = collections.defaultdict(lambda: [0.0, 0])
    for c in counters:
        for name, (cpu, cs) in c.items():
            total[name][0] += cpu
            total[name][1] += cs
    return total


def measure(binary, members, scale):
    results = {}
    with tempfile.TemporaryDirectory() as tmp, \
            Cluster(tmp, members, extra_args=TIMERS, binary=binary) as c:
        leader = etcd_rpc.wait_for_leader(c.members, 30)
        followers = [m for m in c.members if m is not leader]
        for label, clients, conns, total in (("1 client", 1, 1, int(2000 * scale)),
                                             ("100 clients", 100, 12, int(20000 * scale))):
            kvbench([leader.endpoint], "--op", "put", "--clients", str(clients),
                    "--conns", str(conns), "--total", "200")  # warm up the connections
            lead0 = thread_counters(leader.pid)
            fol0 = sum_counters(thread_counters(m.pid) for m in followers)
            run = kvbench([leader.endpoint], "--op", "put", "--clients", str(clients),
                          "--conns", str(conns), "--total", str(total))
            lead1 = thread_counters(leader.pid)
            fol1 = sum_counters(thread_counters(m.pid) for m in followers)
            writes = max(run["total"] - run["errors"], 1)
            results[label] = {
                "throughput": run["throughput"], "p99_ms": run["p99_ms"],
                "leader": per_write(lead0, lead1, writes, 1),
                "follower": per_write(fol0, fol1, writes, max(len(followers), 1)),
            }
    return results


def print_results(results, members):
    for label, r in results.items():
        print("%s: %.0f puts/s, p99 %.2f ms" % (label, r["throughput"], r["p99_ms"]))
        print("  %-18s %22s %22s" % ("thread", "leader us  ctxsw", "follower us  ctxsw"))
        names = sorted(set(r["leader"]) | set(r["follower"]),
                       key=lambda n: -(r["leader"].get(n, {}).get("cpu_us", 0) +
                                       r["follower"].get(n, {}).get("cpu_us", 0)))
        zero = {"cpu_us": 0.0, "ctxsw": 0.0}
        totals = {"leader": [0.0, 0.0], "follower": [0.0, 0.0]}
        for n in names:
            lead, fol = r["leader"].get(n, zero), r["follower"].get(n, zero)
            if lead["cpu_us"] + fol["cpu_us"] + lead["ctxsw"] + fol["ctxsw"] < 0.05:
                continue
            print("  %-18s %12.1f %9.1f %12.1f %9.1f" % (n, lead["cpu_us"], lead["ctxsw"],
                                                           fol["cpu_us"], fol["ctxsw"]))
            for role, v in (("leader", lead), ("follower", fol)):
                totals[role][0] += v["cpu_us"]
                totals[role][1] += v["ctxsw"]
        print("  %-18s %12.1f %9.1f %12.1f %9.1f" % ("total", *totals["leader"],
                                                       *totals["follower"]))
        print("  all %d members: %.0f us and %.1f context switches per write" % (
            members, totals["leader"][0] + (members - 1) * totals["follower"][0],
            totals["leader"][1] + (members - 1) * totals["follower"][1]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--scale", type=float, default=1, help="request-count multiplier")
    p.add_argument("--binary", default=server_binary(), help="server (default: etcdd)")
    p.add_argument("--json", metavar="PATH", help="also save the figures as JSON")
    args = p.parse_args()
    results = measure(args.binary, args.members, args.scale)
    print_results(results, args.members)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"members": args.members, "binary": args.binary, "results": results},
                      f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
