#!/usr/bin/python3
"""Runs watchbench's watch and lease scenarios against real etcd 3.4
(/usr/bin/etcd) and against etcdd in one run and prints the figures side by
side with their ratios (etcdd / etcd).

    flock /tmp/etcdd-build.lock ninja -C build -j2 watchbench etcdd
    tests/bench/watch_compare.py [--quick] [--scale X] [--repeat R] [--streams S]
                                 [--only etcd|etcdd] [--json out.json]

Each server runs alone on loopback, one after the other, on a fresh data dir
(compare.py's servers and binaries: etcdd is $ETCDD_BIN, else
build/cmd/etcdd/etcdd). Scenarios, in this order:
  - memory per watcher: first, on the fresh server (a Go heap that grew earlier
    would hide the cost): server VmRSS before and after 10000 idle watchers on
    distinct keys, divided by 10000;
  - watch, one key: 10, 1000 and 10000 watchers on one key; events/s delivered
    to all of them and the writer's puts/s;
  - watch, distinct keys: 10, 1000 and 10000 watchers each on its own key, the
    puts spread over the keys (one event per put);
  - puts with no watcher, then with 100 stalled watchers (streams that never
    read) on the written key, and the server's RSS growth meanwhile (a server
    that buffers what it cannot send grows here);
  - lease grant: 100 clients over 10 connections;
  - lease keep-alive: 1000 leases over 10 streams, 16 requests in flight each.
Layout: watchers spread over min(N, --streams) streams (default 100, so 10000
watchers are 100 per stream) over min(streams, 10) connections; etcd's
benchmark tool defaults to 10 streams x 100 watchers. Writers: 10 concurrent
put clients, 64-byte values (256 with stalled watchers, so their flow-control
windows fill fast).
See watchbench.cc for what each figure measures.

A scenario the server answers UNIMPLEMENTED for shows "unsupported"; another
failure shows "error" (details on stderr and in --json) and the run goes on.
Targets for etcdd: every throughput ratio >= 1, memory per watcher ratio <= 0.5.

Noise: run on a quiet machine. Watch figures move most: at 1000 and 10000
watchers on one key etcd batches a lagging watcher's events into fewer
responses, and how far watchers lag differs from run to run, so events/s
swings up to 2-3x (watchbench's event_responses, in --json, shows it).
--repeat R runs every scenario R times and shows the medians.

How long (2 cores): about 30 s per server at the default scale 1 and --repeat
1, 12 s with --quick (scale 0.3); --repeat 3 triples it (memory runs once).
--scale multiplies the put, grant and keep-alive counts; watcher counts stay
fixed.

Needs Debian's python3-grpcio and python3-etcd3, hence /usr/bin/python3.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import compare
from compare import ETCD, ETCDD, REPO, Server

WATCHBENCH = os.path.join(REPO, "build", "tests", "bench", "watchbench")
MEMORY_WATCHERS = 10000


class Scenario:
    """One watchbench run: a name, its arguments, and the figures shown as
    (label, JSON field, format) rows; the first row carries the name."""

    def __init__(self, name, args, rows, needs_pid=False, repeatable=True):
        self.name = name
        self.args = [str(a) for a in args]
        self.rows = rows
        self.needs_pid = needs_pid
        self.repeatable = repeatable  # False: only the first run means something


def scenarios(scale, max_streams):
    def n(count):
        return str(max(1, int(count * scale)))

    rate = "%.0f/s"
    out = [Scenario("memory, %d idle watchers" % MEMORY_WATCHERS,
                    ["--mode", "memory", "--keys", "distinct", "--watchers", MEMORY_WATCHERS,
                     "--streams", max_streams],
                    [("bytes/watcher", "bytes_per_watcher", "%.0f B")], needs_pid=True,
                    repeatable=False)]
    # Puts per one-key run: 50k, 1M and 2M events. etcd's figure at 10000 watchers
    # swings 2-4x between runs (how many events each response batches depends on
    # whether watchers fall behind); fewer puts make it swing more.
    for watchers, puts in ((10, 5000), (1000, 1000), (10000, 200)):
        out.append(Scenario("watch, 1 key, %d watchers" % watchers,
                            ["--mode", "watch", "--keys", "same", "--watchers", watchers,
                             "--streams", min(watchers, max_streams), "--puts", n(puts)],
                            [("events/s", "events_per_s", rate), ("puts/s", "puts_per_s", rate)]))
    for watchers in (10, 1000, 10000):
        out.append(Scenario("watch, %d keys, %d watchers" % (watchers, watchers),
                            ["--mode", "watch", "--keys", "distinct", "--watchers", watchers,
                             "--streams", min(watchers, max_streams), "--puts", n(10000)],
                            [("events/s", "events_per_s", rate), ("puts/s", "puts_per_s", rate)]))
    out.append(Scenario("puts, 100 stalled watchers",
                        ["--mode", "stalled", "--stalled", 100, "--val-size", 256,
                         "--puts", n(10000)],
                        [("no watcher", "baseline_puts_per_s", rate),
                         ("100 stalled", "stalled_puts_per_s", rate),
                         ("RSS growth", "rss_growth_kib", "%d KiB")], needs_pid=True))
    out.append(Scenario("lease grant, 100 clients",
                        ["--mode", "lease-grant", "--clients", 100, "--conns", 10,
                         "--total", n(10000)],
                        [("grants/s", "grants_per_s", rate), ("p99", "p99_ms", "%.1f ms")]))
    out.append(Scenario("lease keep-alive, 10 streams",
                        ["--mode", "lease-keepalive", "--leases", 1000, "--streams", 10,
                         "--window", 16, "--total", n(50000)],
                        [("requests/s", "requests_per_s", rate)]))
    return out


def watchbench(endpoint, scenario, pid):
    """Runs one scenario; returns watchbench's JSON object, which holds
    "unsupported" or "error" when it did not complete."""
    cmd = [WATCHBENCH, "--endpoint", endpoint] + scenario.args
    if scenario.needs_pid:
        cmd += ["--server-pid", str(pid)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    try:
        result = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result = {"error": "watchbench exited %d: %s" % (run.returncode, run.stderr.strip())}
    if run.returncode not in (0, 3) or "error" in result:
        result.setdefault("error", "watchbench exited %d" % run.returncode)
        print("%s: %s" % (scenario.name, result["error"]), file=sys.stderr)
    return result


def median_of(runs):
    """One result for repeated runs: the first that failed, else the first with
    each numeric figure replaced by its median over the runs (kept in "runs")."""
    for r in runs:
        if "unsupported" in r or "error" in r:
            return r
    merged = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, (int, float)):
            merged[k] = statistics.median(r[k] for r in runs)
    if len(runs) > 1:
        merged["runs"] = runs
    return merged


def measure(binary, plan, repeat):
    results = {}
    with tempfile.TemporaryDirectory() as tmp, Server(tmp, binary=binary) as s:
        for scenario in plan:
            runs = []
            for _ in range(repeat if scenario.repeatable else 1):
                if not s.running():
                    runs.append({"error": "server exited"})
                    break
                runs.append(watchbench(s.endpoint, scenario, s.proc.pid))
            results[scenario.name] = median_of(runs)
        if s.running():
            results["server RSS at end"] = {"rss_kib": compare.rss_kib(s.proc.pid)}
    return results


def cell(result, field, fmt):
    if result is None:
        return "-"
    if "unsupported" in result:
        return "unsupported"
    if "error" in result:
        return "error"
    return fmt % result[field]


def ratio(a, b, field):
    try:
        return "%.2f" % (b[field] / a[field])
    except (KeyError, TypeError, ZeroDivisionError):
        return ""


def print_table(plan, etcd, etcdd):
    print("%-34s %-13s %12s %12s %6s" % ("scenario", "figure", "etcd", "etcdd", "ratio"))
    rows = [(sc.name, sc.rows) for sc in plan]
    rows.append(("server RSS at end", [("KiB", "rss_kib", "%d")]))
    for name, figures in rows:
        a, b = etcd.get(name), etcdd.get(name)
        for i, (label, field, fmt) in enumerate(figures):
            print("%-34s %-13s %12s %12s %6s" % (
                name if i == 0 else "", label, cell(a, field, fmt), cell(b, field, fmt),
                ratio(a, b, field) if a and b else ""))
    print("targets for etcdd: throughput ratios >= 1, bytes/watcher ratio <= 0.5")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scale 0.3")
    p.add_argument("--scale", type=float, help="put/grant/keep-alive count multiplier (default 1)")
    p.add_argument("--streams", type=int, default=100, metavar="S",
                   help="Watch streams the watchers spread over (default 100; N when N < S)")
    p.add_argument("--repeat", type=int, default=1, metavar="R",
                   help="run each scenario R times and show medians (memory: once)")
    p.add_argument("--only", choices=["etcd", "etcdd"], help="measure one server")
    p.add_argument("--json", metavar="PATH", help="also save every figure as JSON")
    args = p.parse_args()
    scale = args.scale or (0.3 if args.quick else 1)
    plan = scenarios(scale, args.streams)
    etcd = measure(ETCD, plan, args.repeat) if args.only != "etcdd" else {}
    etcdd = measure(ETCDD, plan, args.repeat) if args.only != "etcd" else {}
    print_table(plan, etcd, etcdd)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scale": scale, "repeat": args.repeat, "etcd_binary": ETCD, "etcdd_binary": ETCDD,
                       "etcd": etcd, "etcdd": etcdd}, f, indent=2)
            f.write("\n")
    failed = any("error" in r for r in list(etcd.values()) + list(etcdd.values()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
