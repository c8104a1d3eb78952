"""Python's etcd3 client (Debian python3-etcd3 0.12): watches, leases and its
lock recipe against a real server.

etcd3's watch iterators block without a deadline, so events are taken from
them on a helper thread (`take`) that fails the test after a deadline
instead of hanging it.

Run against etcd itself with ETCDD_BIN=/usr/bin/etcd to check expectations.
"""

import queue
import threading

import pytest

import etcd3
from etcd3 import events as etcd3_events
from etcd3 import exceptions

DEADLINE = 10.0

# etcd3's watcher thread outlives client.close() and fails re-opening its
# stream on the closed channel; that is the client's doing, not the server's.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture
def client(server):
    host, port = server.endpoint.rsplit(":", 1)
    c = etcd3.client(host=host, port=int(port), timeout=10)
    yield c
    c.close()


def take(iterator, n, cancel=None, timeout=DEADLINE):
    """The next `n` items of a blocking iterator, or a failure after
    `timeout` seconds (then `cancel` unblocks the helper thread)."""
    out = queue.Queue()

    def run():
        try:
            for _ in range(n):
                out.put(("item", next(iterator)))
        except BaseException as e:  # noqa: B902 - handed to the test thread
            out.put(("error", e))

    threading.Thread(target=run, daemon=True).start()
    items = []
    while len(items) < n:
        try:
            kind, value = out.get(timeout=timeout)
        except queue.Empty:
            if cancel:
                cancel()
            raise AssertionError("only %d of %d items within %.1fs: %r"
                                 % (len(items), n, timeout, items)) from None
        if kind == "error":
            raise value
        items.append(value)
    return items


def summary(event):
    kind = "PUT" if isinstance(event, etcd3_events.PutEvent) else "DELETE"
    assert isinstance(event, (etcd3_events.PutEvent, etcd3_events.DeleteEvent))
    return kind, event.key, event.value, event.mod_revision


# ---- watch


def test_watch_and_cancel(client):
    client.put("k", "1")  # 2
    client.put("other", "x")  # 3
    client.delete("k")  # 4
    events, cancel = client.watch("k", start_revision=2)
    got = take(events, 2, cancel)
    assert [summary(e) for e in got] == [("PUT", b"k", b"1", 2), ("DELETE", b"k", b"", 4)]
    client.put("k", "2")  # 5, live
    assert [summary(e) for e in take(events, 1, cancel)] == [("PUT", b"k", b"2", 5)]
    cancel()
    assert list(events) == []  # the iterator ends


def test_watch_prefix_with_prev_kv(client):
    client.put("p/a", "1")  # 2
    client.put("q", "1")  # 3
    client.put("p/a", "2")  # 4
    client.put("p/b", "1")  # 5
    events, cancel = client.watch_prefix("p/", start_revision=2, prev_kv=True)
    got = take(events, 3, cancel)
    cancel()
    assert [(e.key, e.value, e.mod_revision) for e in got] == \
        [(b"p/a", b"1", 2), (b"p/a", b"2", 4), (b"p/b", b"1", 5)]
    assert got[1].prev_value == b"1" and got[1].prev_mod_revision == 2
    assert not got[0]._event.HasField("prev_kv")


def test_watch_response_headers(client):
    client.put("h", "1")  # 2
    client.put("h", "2")  # 3
    responses, cancel = client.watch_response("h", start_revision=2)
    [resp] = take(responses, 1, cancel)
    cancel()
    # Catching up, both revisions come in one response at the current revision.
    assert resp.header.revision == 3
    assert [(e.value, e.mod_revision) for e in resp.events] == [(b"1", 2), (b"2", 3)]


def test_watch_once(client):
    rev = client.put("once", "1").header.revision
    event = client.watch_once("once", timeout=DEADLINE, start_revision=rev)
    assert summary(event) == ("PUT", b"once", b"1", rev)
    with pytest.raises(exceptions.WatchTimedOut):
        client.watch_once("never-written", timeout=0.5)
    resp = client.watch_prefix_once_response("on", timeout=DEADLINE, start_revision=rev)
    assert [e.key for e in resp.events] == [b"once"]


def test_add_watch_callback_and_cancel_watch(client):
    received = queue.Queue()
    watch_id = client.add_watch_callback("cb", received.put)
    client.put("cb", "1")
    resp = received.get(timeout=DEADLINE)
    assert [(e.key, e.value) for e in resp.events] == [(b"cb", b"1")]
    client.cancel_watch(watch_id)
    # A second watch on the same key (same stream, created after the cancel)
    # sees the next put; the canceled one does not.
    again = queue.Queue()
    second = client.add_watch_callback("cb", again.put)
    client.put("cb", "2")
    assert [e.value for e in again.get(timeout=DEADLINE).events] == [b"2"]
    assert received.empty()
    client.cancel_watch(second)

    prefix = queue.Queue()
    pid = client.add_watch_prefix_callback("cb/", prefix.put)
    client.put("cb/x", "1")
    assert [e.key for e in prefix.get(timeout=DEADLINE).events] == [b"cb/x"]
    client.cancel_watch(pid)


def test_watch_from_a_compacted_revision(client):
    for v in "1234":
        client.put("c", v)  # 2..5
    client.compact(4)
    events, cancel = client.watch("c", start_revision=2)
    with pytest.raises(exceptions.RevisionCompactedError) as info:
        take(events, 1, cancel)
    assert info.value.compacted_revision == 4
    events, cancel = client.watch("c", start_revision=4)
    assert [e.value for e in take(events, 2, cancel)] == [b"3", b"4"]
    cancel()


# ---- lease


def test_lease_lifecycle(client):
    lease = client.lease(60)
    assert lease.id > 0 and lease.ttl == 60
    client.put("lk1", "v", lease=lease)
    client.put("lk2", "v", lease=lease.id)
    assert client.get("lk1")[1].lease_id == lease.id
    assert 0 < lease.remaining_ttl <= 60
    assert lease.granted_ttl == 60
    assert sorted(lease.keys) == [b"lk1", b"lk2"]
    [resp] = lease.refresh()
    assert (resp.ID, resp.TTL) == (lease.id, 60)
    lease.revoke()
    assert client.get("lk1") == (None, None) and client.get("lk2") == (None, None)
    assert lease.remaining_ttl == -1 and lease.granted_ttl == 0 and list(lease.keys) == []
    [resp] = lease.refresh()  # keep-alive of a revoked lease: TTL 0, no error
    assert resp.TTL == 0


def test_lease_with_chosen_id(client):
    lease = client.lease(30, lease_id=0x4242)
    assert (lease.id, lease.ttl) == (0x4242, 30)
    with pytest.raises(exceptions.PreconditionFailedError):
        client.lease(30, lease_id=0x4242)  # etcdserver: lease already exists
    assert client.lease(1).ttl == 2  # raised to the minimum TTL
    client.revoke_lease(0x4242)
    assert client.get_lease_info(0x4242).TTL == -1


def test_lock(client):
    """etcd3's lock: a txn creating /locks/<name> under a lease. (A contended
    acquire cannot be tested: etcd3 0.12's retry wait does not fit Debian
    12's tenacity.)"""
    lock = client.lock("res", ttl=10)
    assert lock.acquire(timeout=DEADLINE)
    assert lock.is_acquired()
    value, meta = client.get("/locks/res")
    assert value == lock.uuid and meta.lease_id == lock.lease.id
    assert client.get_lease_info(lock.lease.id).grantedTTL == 10
    assert lock.release()
    assert not lock.is_acquired()
    assert client.get("/locks/res") == (None, None)
    lock.lease.revoke()
