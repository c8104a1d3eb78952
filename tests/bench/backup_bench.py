#!/usr/bin/python3
"""Backups and restores, etcdd against real etcd 3.4 in one run (issue
"kvbackup"): with a database of --size-mib,

  - snapshot save: MB/s of the real `etcdctl snapshot save` from each server;
  - the server's RSS growth (RssAnon, heap) while it streams the snapshot;
  - put throughput (kvbench, 16 clients) while a snapshot streams, as a
    fraction of the same run without one;
  - restore: seconds of `etcdctl snapshot restore` (etcd's tool) and of
    `kvbackup restore`, both on the snapshot etcd saved.

    flock /tmp/etcdd-build.lock ninja -C build -j2 kvbench etcdd kvbackup
    tests/bench/backup_bench.py [--size-mib 1024] [--json out.json]

Each server runs alone on fresh data, one after the other. Run by hand, never
in CI; about 3-5 minutes and 5x --size-mib of disk under $TMPDIR at 1 GiB.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from etcdd_harness import REPO, Server, server_binary  # noqa: E402
from compare import kvbench  # noqa: E402
from snapshot_rss import MIB, Sampler, fill, memory  # noqa: E402

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
KVBACKUP = os.path.join(REPO, "build", "cmd", "kvbackup", "kvbackup")
PUTS = ["--op", "put", "--clients", "16", "--conns", "4", "--val-size", "256"]


def etcdctl(*args):
    return subprocess.run([ETCDCTL, *args], capture_output=True, text=True, check=True,
                          env=dict(os.environ, ETCDCTL_API="3"))


def save(server, path):
    """Seconds of `etcdctl snapshot save` and the server's RssAnon growth."""
    before = memory(server.pid)
    with Sampler({"server": server.pid}) as sampler:
        started = time.time()
        etcdctl("--endpoints", server.endpoint, "snapshot", "save", path)
        took = time.time() - started
    growth = sampler.peak["server"]["RssAnon"] - before["RssAnon"]
    return took, growth


def puts_during_save(server, path, total):
    """Put throughput alone, then while a snapshot save streams."""
    alone = kvbench([server.endpoint], *PUTS, "--total", str(total))["throughput"]
    saver = threading.Thread(target=etcdctl, args=(
        "--endpoints", server.endpoint, "snapshot", "save", path))
    saver.start()
    during = kvbench([server.endpoint], *PUTS, "--total", str(total))["throughput"]
    saver.join()
    return alone, during


def measure(binary, tmp, size, value_size, total):
    server = Server(tmp, name="m-" + os.path.basename(binary), binary=binary,
                    extra_args=["--quota-backend-bytes", str(8 << 30)], ready_timeout=60).start()
    try:
        fill(server, size, value_size)
        path = os.path.join(tmp, os.path.basename(binary) + ".db")
        took, growth = save(server, path)
        alone, during = puts_during_save(server, path + ".2", total)
        os.remove(path + ".2")
    finally:
        server.stop()
    return path, {"save_mb_s": round(os.path.getsize(path) / MIB / took, 1),
                  "save_rss_anon_growth_mib": round(growth / MIB, 1),
                  "puts_alone": round(alone), "puts_during_save": round(during),
                  "puts_during_save_ratio": round(during / alone, 2)}


def timed(*cmd):
    started = time.time()
    subprocess.run(cmd, capture_output=True, check=True, env=dict(os.environ, ETCDCTL_API="3"))
    return time.time() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--value-kib", type=int, default=64)
    ap.add_argument("--puts", type=int, default=20000)
    ap.add_argument("--json")
    args = ap.parse_args()
    size = args.size_mib * MIB
    report = {"size_mib": args.size_mib}
    with tempfile.TemporaryDirectory(prefix="etcdd-backupbench-") as tmp:
        etcd_file, report["etcd"] = measure(ETCD, tmp, size, args.value_kib * 1024, args.puts)
        _, report["etcdd"] = measure(server_binary(), tmp, size, args.value_kib * 1024, args.puts)
        peer = ["--name", "r", "--initial-cluster", "r=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls", "http://127.0.0.1:2380"]
        report["restore_s"] = {
            "etcdctl": round(timed(ETCDCTL, "snapshot", "restore", etcd_file, "--data-dir",
                                   os.path.join(tmp, "r-etcd"), *peer), 1),
            "kvbackup": round(timed(KVBACKUP, "restore", etcd_file, "--data-dir",
                                    os.path.join(tmp, "r-etcdd"), *peer), 1)}
    e, d = report["etcd"], report["etcdd"]
    report["ratios_etcdd_over_etcd"] = {
        "save_mb_s": round(d["save_mb_s"] / e["save_mb_s"], 2),
        "puts_during_save_ratio": round(d["puts_during_save_ratio"] / e["puts_during_save_ratio"], 2),
        "restore_s": round(report["restore_s"]["kvbackup"] / report["restore_s"]["etcdctl"], 2)}
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
