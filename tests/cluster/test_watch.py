"""Watch, as etcd 3.4 serves it, on real processes: raw Watch streams
(tests/support/watch_stream.py) against one member or a 3-member cluster.

- A watch from an old revision while writes continue delivers every event
  exactly once, in order, on a follower as on the leader; a client whose
  member is killed (-9) re-watches elsewhere from its last revision + 1, as
  clientv3 does, and still sees every event once. The events equal the
  history read back at the end.
- Watchers that never read their stream do not block writes nor other
  watchers; read later, they deliver every event in order (etcd parks them
  as slow watchers and catches them up from the backend).
- A revision's events arrive in one response (txn, delete-range), whether
  the watcher is synced or catching up.
- A watch from a compacted revision: `created`, then a response with
  compact_revision set and canceled; the stream stays usable.
- progress_notify (server flag --experimental-watch-progress-notify-interval)
  and WatchProgressRequest (reply with watch_id -1), prev_kv, NOPUT/NODELETE
  filters, fragment (with --max-request-bytes, a revision larger than it plus
  gRPC's 512 KiB overhead is split), client-chosen watch ids, cancel, key
  ranges, future start revisions.

Run against etcd itself: ETCDD_BIN=/usr/bin/etcd /usr/bin/python3 -m pytest -q <this file>
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import cluster_checks  # noqa: E402
from etcd_rpc import (ALL, Client, delete_op, member_id, prefix_end, put_op,  # noqa: E402
                      wait_for_leader)
from etcdd_harness import Cluster, Server  # noqa: E402
from watch_stream import (INVALID_WATCH_ID, NODELETE, NOPUT, ResumingWatcher,  # noqa: E402
                          WatchStream)
from workload import Workload  # noqa: E402

ELECTION_MS = 1000
FLAGS = ["--heartbeat-interval", "100", "--election-timeout", str(ELECTION_MS)]
ELECTION_DEADLINE = 10 * ELECTION_MS / 1000
PROGRESS_FLAGS = ["--experimental-watch-progress-notify-interval", "500ms"]
MAX_REQUEST_BYTES = 64 * 1024
GRPC_OVERHEAD_BYTES = 512 * 1024  # etcd's allowance on top of --max-request-bytes


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path) as s:
        yield s


@pytest.fixture
def client(server):
    with Client(server.endpoint) as c:
        yield c


def assert_revisions_whole(replies):
    """No revision's events are split across two replies."""
    seen = {}
    for i, reply in enumerate(replies):
        for rev in {ev[0] for ev in reply.events}:
            assert seen.setdefault(rev, i) == i, \
                "events of revision %d split across replies %d and %d" % (rev, seen[rev], i)


# ---- every event once, in order, across a leader kill


def test_watch_from_old_revision_on_leader_and_follower_across_leader_kill(tmp_path):
    with Cluster(tmp_path, 3, extra_args=FLAGS) as cluster:
        leader = wait_for_leader(cluster.members, ELECTION_DEADLINE)
        leader_id = member_id(leader)
        followers = [m for m in cluster.members if m is not leader]
        keys = ["/watch/%d" % i for i in range(8)]
        with Workload(cluster.members, keys, writers=2, readers=0) as load:
            load.wait_for_acks(150, timeout=30)
            # Both start from revision 2, far behind: they catch up, then
            # follow live writes. The leader's watcher fails over to the
            # followers once the leader dies.
            on_leader = ResumingWatcher([leader.endpoint] + [f.endpoint for f in followers],
                                        start_revision=2, name="on-leader")
            on_follower = ResumingWatcher([followers[0].endpoint, followers[1].endpoint],
                                          start_revision=2, name="on-follower")
            # Started just before the kill: it may still be catching up.
            late = ResumingWatcher([leader.endpoint] + [f.endpoint for f in followers],
                                   start_revision=2, name="late-on-leader")
            watchers = (on_leader, on_follower, late)
            with on_leader, on_follower:
                caught_up = max(rev for _, _, rev in load.acked)
                on_leader.wait_for_revision(caught_up, timeout=30)
                on_follower.wait_for_revision(caught_up, timeout=30)
                with late:
                    killed_at = len(load.acked)
                    leader.kill9()
                    wait_for_leader(followers, ELECTION_DEADLINE, exclude_ids={leader_id})
                    load.wait_for_acks(300, timeout=30, since=killed_at)
                    load.stop()
                    revision, _ = cluster_checks.converged(followers)
                    for w in watchers:
                        w.wait_for_revision(revision, timeout=30)

        # The leader's watchers resumed on a follower after the kill.
        for w in (on_leader, late):
            assert len(w.resumes) >= 2 and w.resumes[-1][0] != leader.endpoint, w.resumes
        with Client(followers[0].endpoint, timeout=15) as c:
            history = c.history(revision, start_revision=2)
        for watcher in watchers:
            got = [ev for ev in watcher.events if ev[0] <= revision]
            assert got == history, "%s: %d events, history has %d; first difference: %s" % (
                watcher.name, len(got), len(history),
                next(((i, a, b) for i, (a, b) in enumerate(zip(got, history)) if a != b),
                     "at the end"))
        acked = {(key, value, rev) for key, value, rev in load.acked}
        assert acked <= {(k, v, r) for r, kind, k, v in history if kind == "PUT"}

        # The old leader, restarted, serves the same history to a new watch.
        leader.start()
        with WatchStream(leader.endpoint, timeout=30) as s:
            s.create_and_wait(ALL, ALL, start_revision=2)
            events, _ = s.events_until(revision)
        assert [ev for ev in events if ev[0] <= revision] == history


# ---- stalled watchers


@pytest.mark.parametrize("streams", [1, 10])
def test_unread_watchers_do_not_block_writes_and_catch_up(server, client, streams):
    watchers, puts, value = 1000, 100, b"v" * 1024
    start = client.put("/other", "x").header.revision + 1
    stalled = [WatchStream(server.endpoint, read=False, timeout=30) for _ in range(streams)]
    active = WatchStream(server.endpoint)
    try:
        for i in range(watchers):
            stalled[i % streams].create("/s/", prefix_end("/s/"), start_revision=start)
        active.create_and_wait("/s/", prefix_end("/s/"), start_revision=start)
        written = []
        for i in range(puts):
            key = ("/s/%d" % (i % 10)).encode()
            rev = client.put(key, value, timeout=10).header.revision
            written.append((rev, "PUT", key, value))
        # A reading watcher gets every event while the others are not read.
        events, _ = active.events_until(written[-1][0])
        assert events == written

        per_watch = {}
        for s in stalled:
            s.start_reading()
            ids = {}
            while len(ids) < watchers // streams or \
                    any(len(e) < puts for e in ids.values()):
                reply = s.next()
                assert not reply.canceled, reply
                if reply.created:
                    assert reply.watch_id not in ids
                    ids[reply.watch_id] = []
                assert reply.watch_id in ids, "events before the created reply: %r" % reply
                ids[reply.watch_id].extend(reply.events)
            per_watch.update({(id(s), w): e for w, e in ids.items()})
        assert len(per_watch) == watchers
        for events in per_watch.values():
            assert events == written
    finally:
        active.close()
        for s in stalled:
            s.close()


# ---- atomicity


def test_revision_events_arrive_in_one_response(server, client):
    client.put("/t/c", "0")
    client.put("/t/e", "0")
    before = client.put("/t/a", "0").header.revision
    with WatchStream(server.endpoint) as synced:
        synced.create_and_wait("/t/", prefix_end("/t/"))
        rev = client.txn([put_op("/t/a", "1"), put_op("/t/b", "1"), delete_op("/t/c"),
                          put_op("/t/d", "1")]).header.revision
        reply = synced.next()
        assert reply.events == [(rev, "PUT", b"/t/a", b"1"), (rev, "PUT", b"/t/b", b"1"),
                                (rev, "DELETE", b"/t/c", b""), (rev, "PUT", b"/t/d", b"1")]
        rev2 = client.delete("/t/", prefix_end("/t/")).header.revision
        reply = synced.next()
        assert reply.events == [(rev2, "DELETE", k, b"")
                                for k in (b"/t/a", b"/t/b", b"/t/d", b"/t/e")]
    # A watcher catching up from before both gets them whole too.
    with WatchStream(server.endpoint) as catching_up:
        catching_up.create_and_wait("/t/", prefix_end("/t/"), start_revision=before)
        events, replies = catching_up.events_until(rev2)
        assert [ev[0] for ev in events] == [before] + [rev] * 4 + [rev2] * 4
        assert_revisions_whole(replies)


# ---- compaction


def test_watch_from_compacted_revision_is_canceled(server, client):
    for i in range(5):
        client.put("k", str(i))  # revisions 2..6
    client.compact(5)
    with WatchStream(server.endpoint) as s:
        s.create("k", start_revision=3)
        created = s.next()
        assert created.created and not created.canceled and created.revision == 6
        ended = s.next()
        assert (ended.watch_id, ended.created, ended.canceled, ended.compact_revision,
                ended.events) == (created.watch_id, False, True, 5, [])
        # The stream still serves watches; the compacted revision itself is kept.
        created = s.create_and_wait("k", start_revision=5)
        events, _ = s.events_until(6, watch_id=created.watch_id)
        assert events == [(5, "PUT", b"k", b"3"), (6, "PUT", b"k", b"4")]
        s.create("k", start_revision=1)
        assert s.next().created
        assert s.next().compact_revision == 5


# ---- progress


def test_progress_notify_reports_the_store_revision(tmp_path):
    with Server(tmp_path, extra_args=PROGRESS_FLAGS) as server, \
            Client(server.endpoint) as client, WatchStream(server.endpoint) as s:
        s.create_and_wait("q")  # without progress_notify: hears nothing
        notified = s.create_and_wait("p", progress_notify=True).watch_id
        rev = client.put("other", "1").header.revision
        notes = []
        while len(notes) < 2:
            reply = s.next()
            assert reply.watch_id == notified, \
                "only the progress_notify watch hears from the server: %r" % reply
            assert not reply.created and not reply.canceled and reply.events == []
            if reply.revision == rev:
                notes.append(reply)
        rev = client.put("p", "1").header.revision
        while True:  # notifications may come first; then the event
            reply = s.next()
            assert reply.watch_id == notified, reply
            if reply.events:
                assert reply.events == [(rev, "PUT", b"p", b"1")] and reply.revision == rev
                break


def test_progress_request_gets_a_reply_without_watch_id(server, client):
    rev = client.put("a", "1").header.revision
    with WatchStream(server.endpoint) as s:
        s.progress()  # no watches on the stream yet: etcd 3.4 answers anyway
        reply = s.next()
        assert (reply.watch_id, reply.created, reply.canceled, reply.events, reply.revision) \
            == (INVALID_WATCH_ID, False, False, [], rev)
        s.create_and_wait("b")
        rev = client.put("a", "2").header.revision
        s.progress()
        reply = s.next()
        assert (reply.watch_id, reply.events, reply.revision) == (INVALID_WATCH_ID, [], rev)


# ---- prev_kv, filters, fragment


def test_prev_kv(server, client):
    first = client.put("k", "1").header.revision
    client.put("k", "2")
    client.delete("k")
    last = client.put("k", "3").header.revision

    def check(replies):
        events = [ev for r in replies for ev in r.msg.events]
        prev = [(ev.prev_kv.value, ev.prev_kv.mod_revision) if ev.HasField("prev_kv") else None
                for ev in events]
        # A create (first put, put after delete) has no previous value.
        assert prev == [None, (b"1", first), (b"2", first + 1), None]

    with WatchStream(server.endpoint) as s:
        w = s.create_and_wait("k", start_revision=first, prev_kv=True).watch_id
        _, replies = s.events_until(last, watch_id=w)
        check(replies)
    client.delete("k")
    client.put("k", "1")
    with WatchStream(server.endpoint) as s:
        w = s.create_and_wait("k", prev_kv=True).watch_id
        plain = s.create_and_wait("k").watch_id
        client.put("k", "2")
        client.delete("k")
        end = client.put("k", "3").header.revision
        replies = s.read_until({w: end, plain: end})
        assert [ev.prev_kv.value if ev.HasField("prev_kv") else None
                for r in replies[w] for ev in r.msg.events] == [b"1", b"2", None]
        assert [ev[1] for r in replies[plain] for ev in r.events] == ["PUT", "DELETE", "PUT"]
        assert not any(ev.HasField("prev_kv") for r in replies[plain] for ev in r.msg.events)


def test_filters(server, client):
    start = client.put("other", "x").header.revision + 1
    with WatchStream(server.endpoint) as s:
        no_put = s.create_and_wait("f/", prefix_end("f/"), filters=[NOPUT]).watch_id
        no_delete = s.create_and_wait("f/", prefix_end("f/"), filters=[NODELETE]).watch_id
        client.put("f/a", "1")
        client.put("f/b", "1")
        client.delete("f/a")
        client.put("f/c", "1")
        client.delete("f/b")
        last = client.put("f/d", "1").header.revision
        deletes, puts = [], []
        while len(deletes) < 2 or len(puts) < 4:
            reply = s.next()
            # Replies whose events were all filtered out are not sent.
            assert reply.events, reply
            {no_put: deletes, no_delete: puts}[reply.watch_id].extend(reply.events)
    assert deletes == [(start + 2, "DELETE", b"f/a", b""), (start + 4, "DELETE", b"f/b", b"")]
    assert puts == [(start, "PUT", b"f/a", b"1"), (start + 1, "PUT", b"f/b", b"1"),
                    (start + 3, "PUT", b"f/c", b"1"), (last, "PUT", b"f/d", b"1")]


def test_fragment_splits_a_large_revision(tmp_path):
    limit = MAX_REQUEST_BYTES + GRPC_OVERHEAD_BYTES
    with Server(tmp_path, extra_args=["--max-request-bytes", str(MAX_REQUEST_BYTES)]) as server, \
            Client(server.endpoint) as client, WatchStream(server.endpoint) as s:
        keys = [("big/%02d" % i).encode() for i in range(12)]
        for k in keys:
            client.put(k, b"x" * 60000)
        # With prev_kv, one delete-range revision carries 12 x 60 KB.
        split = s.create_and_wait("big/", prefix_end("big/"), prev_kv=True,
                                  fragment=True).watch_id
        whole = s.create_and_wait("big/", prefix_end("big/"), prev_kv=True).watch_id
        rev = client.delete("big/", prefix_end("big/")).header.revision
        replies = s.read_until({split: rev, whole: rev})
        fragments, unsplit = replies[split], replies[whole]
    assert len(fragments) >= 2
    assert [f.fragment for f in fragments] == [True] * (len(fragments) - 1) + [False]
    assert all(f.size < limit for f in fragments), [f.size for f in fragments]
    expected = [(rev, "DELETE", k, b"") for k in keys]
    assert [ev for f in fragments for ev in f.events] == expected
    assert len(unsplit) == 1 and not unsplit[0].fragment and unsplit[0].events == expected
    assert unsplit[0].size >= limit


# ---- watch ids, cancel, ranges


def test_watch_ids_and_cancel(server, client):
    with WatchStream(server.endpoint) as s:
        auto = s.create_and_wait("k").watch_id
        assert auto >= 0
        chosen = s.create_and_wait("k", watch_id=7)
        assert chosen.watch_id == 7 and not chosen.canceled
        duplicate = s.create_and_wait("k", watch_id=7)
        assert (duplicate.watch_id, duplicate.canceled, duplicate.cancel_reason) == \
            (INVALID_WATCH_ID, True, "mvcc: duplicate watch ID provided on the WatchStream")
        empty = s.create_and_wait("b", "a")
        assert (empty.watch_id, empty.canceled, empty.cancel_reason) == \
            (INVALID_WATCH_ID, True, "mvcc: watcher range is empty")
        s.cancel(7)
        reply = s.next()
        assert (reply.watch_id, reply.canceled, reply.created) == (7, True, False)
        # Canceling an unknown id gets no reply: the next reply on the
        # stream answers the progress request sent after it.
        s.cancel(12345)
        s.progress()
        assert s.next().watch_id == INVALID_WATCH_ID
        rev = client.put("k", "v").header.revision
        reply = s.next()
        assert (reply.watch_id, reply.events) == (auto, [(rev, "PUT", b"k", b"v")])


def test_key_ranges_and_start_revisions(server, client):
    rev0 = client.put("a", "0").header.revision
    with WatchStream(server.endpoint) as s:
        ids = {
            "key": s.create_and_wait("b").watch_id,
            "prefix": s.create_and_wait("b", prefix_end("b")).watch_id,
            "range": s.create_and_wait("a", "b").watch_id,
            "from-key": s.create_and_wait("b", ALL).watch_id,
            "all": s.create_and_wait(ALL, ALL).watch_id,
            "empty-key-all": s.create_and_wait("", ALL).watch_id,
            "future": s.create_and_wait(ALL, ALL, start_revision=rev0 + 4).watch_id,
        }
        created = s.create_and_wait("zz")
        assert created.revision == rev0  # header of a created reply: the current revision
        writes = [("a", rev0 + 1), ("b", rev0 + 2), ("b/1", rev0 + 3), ("c", rev0 + 4),
                  ("zz", rev0 + 5)]
        for key, _ in writes:
            client.put(key, "v")
        want = {
            "key": ["b"], "prefix": ["b", "b/1"], "range": ["a"],
            "from-key": ["b", "b/1", "c", "zz"], "all": ["a", "b", "b/1", "c", "zz"],
            "empty-key-all": ["a", "b", "b/1", "c", "zz"], "future": ["c", "zz"],
        }
        got = {name: [] for name in ids}
        by_id = {w: name for name, w in ids.items()}
        while any(len(got[n]) < len(want[n]) for n in ids):
            reply = s.next()
            if reply.watch_id in by_id:
                got[by_id[reply.watch_id]].extend(ev[2].decode() for ev in reply.events)
    assert got == want
