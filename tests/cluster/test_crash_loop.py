"""20 kill -9 / restart cycles of random members of a 3-member cluster under
load (every third victim is the leader).

Writers put unique values to a few keys and readers do linearizable gets,
through clients that fail over between members; every operation is recorded.
Each cycle waits for events, not time: after the kill, for more puts to be
acknowledged (the other two serve); after the restart, for the member to be
ready, to answer a linearizable read, and for more puts.

At the end: no acknowledged put is lost (each is in every member's data at
the revision it was acknowledged with, and is its key's value unless
overwritten later), all members hold the same revision and contents (and the
same HashKV, where implemented), and the history is linearizable per key.

The seed is printed; CRASH_LOOP_SEED reruns one.
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import cluster_checks  # noqa: E402
from etcd_rpc import Client, wait_for_leader, wait_until  # noqa: E402
from etcdd_harness import Cluster  # noqa: E402
from workload import Workload  # noqa: E402

CYCLES = 20
ELECTION_MS = 1000
FLAGS = ["--heartbeat-interval", "100", "--election-timeout", str(ELECTION_MS)]
KEYS = ["/crash-loop/%d" % i for i in range(4)]
ACKS = 10                 # puts acknowledged after each kill and after each restart
DEADLINE = 20.0           # for any one of those events; generous for loaded CI


def test_kill9_restart_cycles_lose_nothing_and_stay_linearizable(tmp_path):
    seed = int(os.environ.get("CRASH_LOOP_SEED", random.randrange(1 << 30)))
    print("seed", seed)
    rng = random.Random(seed)
    victims = []
    with Cluster(tmp_path, 3, extra_args=FLAGS) as cluster:
        members = cluster.members
        with Workload(members, KEYS, writers=3, readers=2, seed=seed) as load:
            load.wait_for_acks(ACKS, DEADLINE)
            for cycle in range(CYCLES):
                leader = wait_for_leader(members, DEADLINE)
                victim = leader if cycle % 3 == 0 else rng.choice(members)
                victims.append("%s%s" % (victim.name, "*" if victim is leader else ""))
                where = "seed %d cycle %d (%s)" % (seed, cycle, victims[-1])

                victim.kill9()
                load.wait_for_acks(ACKS, DEADLINE)
                victim.start()
                with Client(victim.endpoint, timeout=2) as c:
                    wait_until(lambda: c.get(KEYS[0]) is not None, DEADLINE,
                               "%s: a linearizable read on the restarted member" % where)
                load.wait_for_acks(ACKS, DEADLINE)
        print("victims (* = leader):", " ".join(victims))
        print("%d puts acknowledged, %d operations; errors: %s"
              % (len(load.acked), len(load.history.ops), load.errors))

        revision, contents = cluster_checks.converged(members)
        cluster_checks.acknowledged_writes_on_every_member(members, load.acked, revision,
                                                           contents)
        result = cluster_checks.linearizable(load.history.snapshot())
        print("history is linearizable (%d configurations searched)" % result.configurations)
        cluster_checks.same_hash_kv(members, revision)
