"""Acknowledged writes survive kill -9.

Writers put unique keys under load; etcdd is killed with SIGKILL at a random
moment, restarted, and every write it acknowledged must be there with the
revision it was acknowledged with. Unacknowledged writes may or may not be.
"""

import os
import random
import sys
import threading

import etcd3
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Server  # noqa: E402

CYCLES = 20
WRITERS = 4


def client_for(server):
    host, port = server.endpoint.split(":")
    return etcd3.client(host=host, port=int(port), timeout=5)


def write_until_failure(server, prefix, acked, lock):
    client = client_for(server)
    n = 0
    try:
        while True:
            key = "%s/%06d" % (prefix, n)
            resp = client.put(key, "v" + key)
            with lock:
                acked[key] = resp.header.revision
            n += 1
    except Exception:  # the server was killed: the writer's work is done
        pass
    finally:
        client.close()


def test_acknowledged_writes_survive_kill9(tmp_path):
    seed = int(os.environ.get("KILL9_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed", seed)
    acked, lock = {}, threading.Lock()
    with Server(tmp_path) as server:
        for cycle in range(CYCLES):
            writers = [threading.Thread(target=write_until_failure,
                                        args=(server, "/crash/%02d/%d" % (cycle, w), acked, lock))
                       for w in range(WRITERS)]
            for t in writers:
                t.start()
            # A random moment into the load; the length is the experiment, not a wait.
            threading.Event().wait(rng.uniform(0.05, 0.6))
            server.kill9()
            for t in writers:
                t.join()
            server.start()
            client = client_for(server)
            found = {meta.key.decode(): (value.decode(), meta.mod_revision)
                     for value, meta in client.get_prefix("/crash/")}
            client.close()
            with lock:
                for key, rev in acked.items():
                    assert key in found, "seed %d cycle %d: acked %s lost" % (seed, cycle, key)
                    assert found[key] == ("v" + key, rev), \
                        "seed %d cycle %d: %s has %r, acked at revision %d" % (
                            seed, cycle, key, found[key], rev)
    assert len(acked) > CYCLES, "the load produced almost no writes (seed %d)" % seed
