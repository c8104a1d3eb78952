"""A progress reply (WatchRequest.progress_request; the reply has watch_id -1
and no events) promises that every event at or below its header revision has
been sent on the stream. Kubernetes' consistent reads from its watch cache
rely on that promise (etcd #15220). It must hold while the stream's watcher
catches up from history, while writes continue, and across a kill -9 of the
member the client watches on (the client then re-watches on another member
from max(last event, last progress) + 1, as Kubernetes' reflector does).

etcd 3.4 breaks the promise (it answers at once with its current revision,
however far behind the watcher is); etcd 3.6 and etcdd defer the reply until
the stream's watchers have caught up. So this file does not pass against
/usr/bin/etcd (3.4) and says so instead of running there.
"""

import os
import sys
import threading

import grpc
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcd_rpc import Client, prefix_end  # noqa: E402
from etcdd_harness import Cluster, Server, is_real_etcd  # noqa: E402
from watch_stream import INVALID_WATCH_ID, StreamEnded, WatchStream  # noqa: E402

pytestmark = pytest.mark.skipif(is_real_etcd(), reason="etcd 3.4 has etcd #15220")

PREFIX = b"/progress/"
FLAGS = ["--heartbeat-interval", "100", "--election-timeout", "1000"]


class Writer:
    """Puts under PREFIX (and, in between, to another key so that revisions
    also move without events for the watcher) through any member that
    answers, until stopped or `limit` puts. Bounded in count and time."""

    def __init__(self, servers, limit=3000):
        self.servers = servers
        self.limit = limit
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set() and i < self.limit:
            for s in self.servers:
                if not s.running():
                    continue
                try:
                    with Client(s.endpoint, timeout=2.0) as c:
                        while not self._stop.is_set() and i < self.limit:
                            key = PREFIX + b"%06d" % i if i % 3 else b"/other"
                            c.put(key, b"v" * 100)
                            i += 1
                            self.count = i
                except grpc.RpcError:
                    continue

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(60)


class ProgressChecker:
    """Watches PREFIX from revision 1, asks for progress every few ms, and
    records what arrives: ("event", revision) and ("progress", revision)."""

    def __init__(self):
        self.log = []
        self.last_event = 0
        self.last_progress = 0

    def events(self):
        return sum(1 for kind, _ in self.log if kind == "event")

    def follow(self, endpoint, until_events, fault=None, max_replies=100000):
        """Reads one stream on `endpoint` until `until_events` events arrived
        in all, or the stream ends. With `fault`, calls it once that many
        events arrived, with the stream still open (say, kill -9 of its
        member), and reads on until the stream ends."""
        start = max(self.last_event, self.last_progress) + 1
        with WatchStream(endpoint, timeout=20) as s:
            s.create(PREFIX, prefix_end(PREFIX), start_revision=start)
            asking = threading.Event()

            def ask():
                while not asking.wait(0.005):
                    s.progress()
            asker = threading.Thread(target=ask, daemon=True)
            asker.start()
            try:
                for _ in range(max_replies):
                    if self.events() >= until_events:
                        if fault is None:
                            return
                        fault()
                        fault = None
                    try:
                        reply = s.next()
                    except StreamEnded:
                        return
                    if reply.created:
                        continue
                    assert not reply.canceled, reply
                    if reply.watch_id == INVALID_WATCH_ID and not reply.events:
                        assert reply.revision >= self.last_progress, "progress went backwards"
                        self.log.append(("progress", reply.revision))
                        self.last_progress = reply.revision
                        continue
                    for rev, _, _, _ in reply.events:
                        self.log.append(("event", rev))
                        self.last_event = rev
            finally:
                asking.set()
                asker.join()

    def check(self, history):
        """`history`: every revision with an event under PREFIX, from the
        backend at the end. Every progress reply at R came after every event
        at or below R, and no event at or below R came after it."""
        seen = set()
        progress = 0
        for kind, rev in self.log:
            if kind == "event":
                assert rev > progress, "event at %d after a progress reply at %d" % (rev, progress)
                seen.add(rev)
                continue
            progress = rev
            missing = [r for r in history if r <= rev and r not in seen]
            assert not missing, "progress reply at %d before the events at %s" % (
                rev, missing[:5])
        assert sum(1 for k, _ in self.log if k == "progress") > 0, "no progress reply at all"


def prefix_history(endpoint):
    with Client(endpoint, timeout=20) as c:
        end = c.status().header.revision
        return sorted({ev[0] for ev in c.history(end) if ev[2].startswith(PREFIX)})


def test_progress_waits_for_history_catch_up_under_writes(tmp_path):
    with Server(tmp_path, extra_args=FLAGS) as s:
        with Client(s.endpoint) as c:
            for i in range(3000):  # a catch-up of several history reads
                c.put(PREFIX + b"old%06d" % i, b"x" * 200)
        checker = ProgressChecker()
        with Writer([s], limit=1500):
            checker.follow(s.endpoint, until_events=3600)
        checker.check(prefix_history(s.endpoint))


def test_progress_holds_across_a_member_kill(tmp_path):
    with Cluster(tmp_path, 3, extra_args=FLAGS) as cluster:
        members = cluster.members
        with Client(members[0].endpoint) as c:
            for i in range(2000):
                c.put(PREFIX + b"old%06d" % i, b"x" * 200)
        checker = ProgressChecker()
        with Writer(members, limit=3000) as writer:
            # Follow member 1 for a while, kill it mid-stream, go on on
            # member 2, then come back to member 1 once it restarted.
            checker.follow(members[1].endpoint, until_events=2300, fault=members[1].kill9)
            checker.follow(members[2].endpoint, until_events=2700)
            members[1].start()
            checker.follow(members[1].endpoint, until_events=3000)
            assert writer.count > 0
        checker.check(prefix_history(members[2].endpoint))
