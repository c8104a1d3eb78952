"""kill -9 of the leader under write load, in 3- and 5-member clusters.

Expected, as etcd behaves: the survivors elect a new leader within a few
election timeouts and writes continue; once the old leader is restarted and
the load stopped, every member holds every acknowledged write at the revision
it was acknowledged with, all members report the same revision and contents
(and the same HashKV, where the server implements it), and the recorded
history of puts and linearizable gets is linearizable.

The seed of the load is printed; FAILOVER_SEED reruns one.
"""

import os
import random
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import cluster_checks  # noqa: E402
from etcd_rpc import member_id, wait_for_leader  # noqa: E402
from etcdd_harness import Cluster  # noqa: E402
from workload import Workload  # noqa: E402

ELECTION_MS = 1000
FLAGS = ["--heartbeat-interval", "100", "--election-timeout", str(ELECTION_MS)]
# A new leader must be agreed on within this many election timeouts of the kill.
ELECTION_TIMEOUTS_ALLOWED = 6
KEYS = ["/failover/%d" % i for i in range(8)]
ACKS = 50  # puts acknowledged before the kill, and again after the new leader


@pytest.mark.parametrize("size", [3, 5])
def test_leader_kill9_under_load(tmp_path, size):
    seed = int(os.environ.get("FAILOVER_SEED", random.randrange(1 << 30)))
    print("seed", seed)
    deadline = ELECTION_TIMEOUTS_ALLOWED * ELECTION_MS / 1000
    with Cluster(tmp_path, size, extra_args=FLAGS) as cluster:
        old = wait_for_leader(cluster.members, 3 * deadline)
        old_id = member_id(old)
        survivors = [m for m in cluster.members if m is not old]
        with Workload(cluster.members, KEYS, writers=3, readers=2, seed=seed) as load:
            load.wait_for_acks(ACKS, timeout=30)
            old.kill9()
            killed_at = time.monotonic()
            new = wait_for_leader(survivors, deadline, exclude_ids={old_id})
            print("%s elected %.2fs after %s was killed" % (new.name,
                                                            time.monotonic() - killed_at,
                                                            old.name))
            # Writes continue under the new leader.
            load.wait_for_acks(ACKS, timeout=deadline)
        print("%d puts acknowledged; errors: %s" % (len(load.acked), load.errors))

        old.start()  # rejoins as a follower and catches up
        revision, contents = cluster_checks.converged(cluster.members)
        cluster_checks.acknowledged_writes_on_every_member(cluster.members, load.acked,
                                                           revision, contents)
        result = cluster_checks.linearizable(load.history.snapshot())
        print("history of %d operations is linearizable (%d configurations searched)"
              % (len(load.history.ops), result.configurations))
        cluster_checks.same_hash_kv(cluster.members, revision)
