#!/usr/bin/python3
"""Runs kvbench against real etcd 3.4 (/usr/bin/etcd) and against etcdd in one
run and prints the figures side by side with their ratios (etcdd / etcd).

    flock /tmp/etcdd-build.lock ninja -C build -j2 kvbench etcdd
    tests/bench/compare.py [--quick] [--json out.json]             # one member
    tests/bench/compare.py --cluster 3 [--quick] [--trials 10] [--json out.json]
    tests/bench/compare.py --secure [--quick] [--json out.json]
    tests/bench/compare.py --cluster 3 --quick --trials 0 --runs 5  # medians

Single member (default): puts at 1 and 100 clients, linearizable and
serializable ranges at 100 clients, and the RSS after 100k keys.

Every put row also reports the CPU per committed write: the user + system
time of every server process (all members, all threads) during the run,
divided by the puts acknowledged. On this 2-core machine the members share
the cores with kvbench, so that figure is what bounds throughput.

--runs N measures etcd, then etcdd, N times in turn and prints the median of
every figure (ratios move about 20% between single runs here); --json then
also keeps each run's figures. --trials 0 skips the failover trials.

Secure (--secure): one member serving https with a CA-signed certificate;
puts at 1 and 100 clients over TLS, then again with auth on (a root user,
`auth enable`), every call carrying its simple token.

Cluster (--cluster N): N members on loopback with etcd's default timers,
passed explicitly to both (--heartbeat-interval 100 --election-timeout 1000):
  - put, 1 client, to the leader;
  - put, 100 clients, to the leader;
  - put, 100 clients spread over all members;
  - leader failover: kill -9 of the leader to the first acknowledged write on
    the survivors, median and max over --trials trials (see failover.py).
Where the load goes: kvbench spreads connections over the endpoints it is
given, as etcd's tools/benchmark does, and --target-leader is emulated by
passing the leader alone. One client has one connection, so "spread" would
land it on whichever member is listed first, a leader in one run and a
follower in the next; it is therefore measured against the leader, the
figure a single writer gets at best. At 100 clients both are reported, as in
etcd's op-guide performance table: leader only isolates the leader's write
path, all members adds the followers' forwarding hop.

etcd and etcdd are measured one after the other, each on fresh data dirs, so
they never compete for the cores; the members of a cluster do share them,
equally for both. Run on a quiet machine: throughput and p99 move a lot with
concurrent load; failover less, being dominated by the randomized election
timeout (its own noise is described in failover.py).

How long (2 cores, measured on a busy machine, so upper bounds): single
member about 30 s per server with --quick, 1.5 min without; cluster about
20 s per server with --quick, 1 min without. Each failover trial takes 2-3 s
(1-2 s to fail over, then the killed member's restart). --scale multiplies
the request counts (default 3, --quick 1); --trials sets the failover trials
(default 10, --quick 3).

etcdd is $ETCDD_BIN when set, else build/cmd/etcdd/etcdd. Watch and lease
scenarios are in watch_compare.py, which reuses this module.

Needs Debian's python3-grpcio and python3-etcd3, hence /usr/bin/python3.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from etcdd_harness import REPO, Cluster, Server, server_binary  # noqa: E402
import etcd_rpc  # noqa: E402
from tls_certs import Pki  # noqa: E402
import failover  # noqa: E402

KVBENCH = os.path.join(REPO, "build", "tests", "bench", "kvbench")
ETCDD = server_binary()  # $ETCDD_BIN, else build/cmd/etcdd/etcdd
ETCD = "/usr/bin/etcd"
# etcd's defaults, stated so that a change of either server's defaults cannot
# silently change what is compared.
TIMERS = ["--heartbeat-interval", "100", "--election-timeout", "1000"]


def kvbench(endpoints, *args):
    run = subprocess.run([KVBENCH, "--endpoints", ",".join(endpoints)] + list(args),
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("kvbench %s failed: %s%s" % (" ".join(args), run.stderr, run.stdout))
    return json.loads(run.stdout)


def stat_cpu_seconds(path):
    """User plus system CPU time in a /proc/<pid>/stat or
    /proc/<pid>/task/<tid>/stat file, in seconds."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15


def cpu_seconds(pids):
    """User plus system CPU time of every thread of `pids`, in seconds."""
    return sum(stat_cpu_seconds("/proc/%d/stat" % pid) for pid in pids)


def puts(endpoints, clients, conns, total, pids):
    """kvbench puts, plus "cpu_us_per_write": the CPU every server process in
    `pids` spent (user + system, all threads) per acknowledged put."""
    before = cpu_seconds(pids)
    result = kvbench(endpoints, "--op", "put", "--clients", str(clients), "--conns", str(conns),
                     "--total", str(total))
    writes = max(result["total"] - result["errors"], 1)
    result["cpu_us_per_write"] = (cpu_seconds(pids) - before) * 1e6 / writes
    return result


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure_single(binary, scale, _args):
    results = {}
    with tempfile.TemporaryDirectory() as tmp, Server(tmp, binary=binary) as s:
        ep = [s.endpoint]
        pids = [s.proc.pid]
        results["put 1 client"] = puts(ep, 1, 1, int(2000 * scale), pids)
        results["put 100 clients"] = puts(ep, 100, 10, int(20000 * scale), pids)
        results["range linearizable 100 clients"] = kvbench(
            ep, "--op", "range", "--consistency", "l", "--clients", "100", "--conns", "10",
            "--total", str(int(20000 * scale)))
        results["range serializable 100 clients"] = kvbench(
            ep, "--op", "range", "--consistency", "s", "--clients", "100", "--conns", "10",
            "--total", str(int(50000 * scale)))
        kvbench(ep, "--op", "put", "--clients", "100", "--conns", "10", "--total", "100000",
                "--sequential-keys")
        results["rss after 100k keys (KiB)"] = rss_kib(s.proc.pid)
    return results


def measure_secure(binary, scale, _args):
    """One member serving https (a CA-signed server certificate): puts over
    TLS, then the same with auth on, every call carrying a simple token."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        pki = Pki(tmp)
        ca = pki.ca("ca")
        cert = pki.cert("server", ca, cn="etcd", ips=["127.0.0.1"], dns=["localhost"])
        tls = ["--cert-file", cert.cert, "--key-file", cert.key]
        with Server(tmp, binary=binary, client_scheme="https", extra_args=tls) as s:
            ep = [s.endpoint]
            tls_args = ["--cacert", ca.cert]
            results["put 1 client, TLS"] = kvbench(ep, "--op", "put", "--clients", "1",
                                                   "--total", str(int(2000 * scale)), *tls_args)
            results["put 100 clients, TLS"] = kvbench(
                ep, "--op", "put", "--clients", "100", "--conns", "10",
                "--total", str(int(20000 * scale)), *tls_args)
            etcdctl = ["/usr/bin/etcdctl", "--endpoints", "https://" + s.endpoint,
                       "--cacert", ca.cert]
            for cmd in (["user", "add", "root:pw"], ["auth", "enable"]):
                subprocess.run(etcdctl + cmd, check=True, capture_output=True,
                               env=dict(os.environ, ETCDCTL_API="3"))
            auth_args = tls_args + ["--user", "root", "--password", "pw"]
            results["put 1 client, TLS + auth"] = kvbench(
                ep, "--op", "put", "--clients", "1", "--total", str(int(2000 * scale)),
                *auth_args)
            results["put 100 clients, TLS + auth"] = kvbench(
                ep, "--op", "put", "--clients", "100", "--conns", "10",
                "--total", str(int(20000 * scale)), *auth_args)
    return results


def measure_cluster(binary, scale, args):
    results = {}
    with tempfile.TemporaryDirectory() as tmp, \
            Cluster(tmp, args.cluster, extra_args=TIMERS, binary=binary) as c:
        leader = [etcd_rpc.wait_for_leader(c.members, 30).endpoint]
        every = c.endpoints()
        pids = [m.pid for m in c.members]
        results["put 1 client, leader"] = puts(leader, 1, 1, int(2000 * scale), pids)
        # 12 connections in both 100-client rows: 4 per member of 3 when spread.
        results["put 100 clients, leader"] = puts(leader, 100, 12, int(20000 * scale), pids)
        results["put 100 clients, all members"] = puts(every, 100, 12, int(20000 * scale), pids)
        if args.trials > 0:
            results["leader failover"] = failover.measure(c, args.trials)
    return results


def median_of(runs):
    """The per-figure median of several runs' results (same shape as one);
    lists (failover trials) are concatenated."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median_of([r[k] for r in runs]) for k in first}
    if isinstance(first, list):
        return [x for r in runs for x in r]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(runs)
    return first


def print_table(etcd, etcdd):
    print("%-34s %14s %14s %8s" % ("scenario", "etcd", "etcdd", "ratio"))

    def ms_row(name, a, b):
        print("%-34s %11.2fms %11.2fms %8.2f" % (name, a, b, b / max(a, 1e-9)))

    for name in etcd:
        a, b = etcd[name], etcdd[name]
        if isinstance(a, dict) and "throughput" in a:
            print("%-34s %12.0f/s %12.0f/s %8.2f" % (name, a["throughput"], b["throughput"],
                                                      b["throughput"] / a["throughput"]))
            ms_row("  p99", a["p99_ms"], b["p99_ms"])
            if "cpu_us_per_write" in a:
                print("%-34s %12.0fus %12.0fus %8.2f" % (
                    "  CPU per committed write", a["cpu_us_per_write"], b["cpu_us_per_write"],
                    b["cpu_us_per_write"] / max(a["cpu_us_per_write"], 1e-9)))
        elif isinstance(a, dict):
            ms_row(name + " median", a["median_ms"], b["median_ms"])
            ms_row("  max (%d trials)" % len(a["trials_ms"]), a["max_ms"], b["max_ms"])
        else:
            print("%-34s %14d %14d %8.2f" % (name, a, b, b / a))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scale 1 and 3 failover trials")
    p.add_argument("--scale", type=float, help="request-count multiplier (default 3)")
    p.add_argument("--cluster", type=int, metavar="N", help="N-member cluster benchmark")
    p.add_argument("--secure", action="store_true",
                   help="puts over client TLS, then with auth on (simple tokens)")
    p.add_argument("--trials", type=int,
                   help="failover trials (default 10, --quick 3; 0 skips failover)")
    p.add_argument("--runs", type=int, default=1,
                   help="measure etcd and etcdd alternately this many times and report "
                        "the median of every figure (default 1)")
    p.add_argument("--json", metavar="PATH", help="also save every figure as JSON")
    args = p.parse_args()
    scale = args.scale or (1 if args.quick else 3)
    if args.trials is None:
        args.trials = 3 if args.quick else 10
    measure = (measure_secure if args.secure else
               measure_cluster if args.cluster else measure_single)
    runs = {"etcd": [], "etcdd": []}
    for _ in range(max(args.runs, 1)):
        runs["etcd"].append(measure(ETCD, scale, args))
        runs["etcdd"].append(measure(ETCDD, scale, args))
    etcd, etcdd = median_of(runs["etcd"]), median_of(runs["etcdd"])
    if args.runs > 1:
        print("median of %d runs, etcd and etcdd alternating" % args.runs)
    print_table(etcd, etcdd)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"members": args.cluster or 1, "scale": scale, "etcd_binary": ETCD,
                       "etcdd_binary": ETCDD, "etcd": etcd, "etcdd": etcdd, "runs": runs},
                      f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
