"""kill -9 at random moments of a defrag loses nothing.

A 3-member cluster holds a backend with free pages and takes writes all the
time. In each cycle one member is asked to Defragment and is killed with
SIGKILL at a random moment (before, during or after the copy, the replay or
the swap), then restarted. Every acknowledged write must be on every member
at the revision it was acknowledged with, HashKV must agree, and the
restarted member's backend directory must hold no leftover copy.
"""

import os
import random
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import etcd_rpc  # noqa: E402
from cluster_checks import same_hash_kv  # noqa: E402
from etcd_rpc import etcdrpc  # noqa: E402
from etcdd_harness import Cluster  # noqa: E402

CYCLES = 20
FILL_KEYS = 300
FILL_VALUE = 64 * 1024


def write_until(stop, endpoint, prefix, acked, lock):
    """Puts unique keys through `endpoint` until `stop`; records acknowledged
    ones as (key, value, revision). Failures (a member down, an election) are
    not acknowledged and simply retried with the next key."""
    n = 0
    with etcd_rpc.Client(endpoint, timeout=2) as c:
        while not stop.is_set() and n < 100000:
            key, value = "%s/%06d" % (prefix, n), "v%d" % n
            n += 1
            try:
                rev = c.put(key, value).header.revision
            except grpc.RpcError:
                continue
            with lock:
                acked.append((key, value, rev))


def defragment(endpoint):
    try:
        with etcd_rpc.Client(endpoint, timeout=60) as c:
            c.maintenance.Defragment(etcdrpc.DefragmentRequest())
    except grpc.RpcError:
        pass  # killed meanwhile: what matters is what the restart finds


def logged(member, message):
    return any('"msg":"%s"' % message in line for line in member.log)


def backend_entries(member):
    return sorted(os.listdir(os.path.join(member.data_dir, "member", "db")))


def test_kill9_during_defrag_loses_no_acknowledged_write(tmp_path):
    seed = int(os.environ.get("DEFRAG_KILL9_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed", seed)
    with Cluster(tmp_path, 3) as cluster:
        members = cluster.members
        with etcd_rpc.Client(members[0].endpoint, timeout=30) as c:
            # Overwritten then compacted: most of the fill's pages are free.
            for round_ in range(2):
                for i in range(FILL_KEYS):
                    c.put("fill/%04d" % i, bytes([65 + round_]) * FILL_VALUE)
            c.compact(c.status().header.revision, physical=True)
        # How long a defrag of this backend takes, to kill within it.
        started = time.monotonic()
        defragment(members[0].endpoint)
        took = time.monotonic() - started
        acked, lock = [], threading.Lock()
        killed_during = 0
        for cycle in range(CYCLES):
            victim = members[cycle % 3]
            writer_member = members[(cycle + 1) % 3]
            stop = threading.Event()
            writer = threading.Thread(target=write_until, args=(
                stop, writer_member.endpoint, "w/%02d" % cycle, acked, lock))
            writer.start()
            defrag = threading.Thread(target=defragment, args=(victim.endpoint,))
            defrag.start()
            etcd_rpc.wait_until(lambda: logged(victim, "defragmenting"), 30,
                                "%s to start defragmenting" % victim.name, interval=0.001)
            # A random moment into the defrag; the length is the experiment.
            threading.Event().wait(rng.uniform(0.0, 1.5 * took))
            victim.kill9()
            defrag.join()
            killed_during += not logged(victim, "finished defragment")
            victim.start()
            assert backend_entries(victim) == ["data.mdb", "lock.mdb"], \
                "seed %d cycle %d: leftovers %s" % (seed, cycle, backend_entries(victim))
            stop.set()
            writer.join()

            revision, _ = etcd_rpc.converged_state(members, prefix="w/")
            same_hash_kv(members, revision)
            with lock:
                expected = list(acked)
            for m in members:
                with etcd_rpc.Client(m.endpoint, timeout=30) as c:
                    _, kvs = c.range_all("w/", serializable=True)
                lost = [(k, v, r) for k, v, r in expected
                        if kvs.get(k.encode(), (None, 0, 0))[0::2] != (v.encode(), r)]
                assert not lost, "seed %d cycle %d: %s lost %d of %d acknowledged writes, " \
                    "e.g. %s" % (seed, cycle, m.name, len(lost), len(expected), lost[:3])
        assert len(acked) > CYCLES, "the load produced almost no writes (seed %d)" % seed
        print("killed during the defrag in %d of %d cycles" % (killed_during, CYCLES))
        assert killed_during > 0, "no kill landed inside a defrag (seed %d)" % seed
