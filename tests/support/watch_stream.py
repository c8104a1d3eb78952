"""Raw etcd Watch streams for watch tests, with the etcd 3.4 fields that the
etcd3 package's generated messages lack (WatchCreateRequest.watch_id and
.fragment, WatchRequest.progress_request, WatchResponse.fragment).

    with WatchStream(server.endpoint) as s:
        w = s.create_and_wait(b"/k", start_revision=2, prev_kv=True).watch_id
        reply = s.next()                # a Reply; fails the test after `timeout` s
        reply.events                    # [(revision, "PUT"|"DELETE", key, value)]
        events, replies = s.events_until(revision, watch_id=w)
        s.progress(); s.cancel(w)

Requests are built as bytes: the etcd3 message for the fields it knows, plus
the missing fields appended in protobuf's wire format (field numbers from
etcd's rpc.proto). Replies are parsed with the etcd3 message, and the
`fragment` flag (field 7, unknown to it) is read from the raw bytes.

A stream is read by a background thread into a queue, so a test blocks on
`next(timeout)` rather than sleeping. `WatchStream(..., read=False)` leaves the
stream unread (a stalled watcher: gRPC flow control then backs up into the
server) until `start_reading()`.

ResumingWatcher watches across member failures the way clientv3 does: when a
stream fails it re-creates the watch on the next endpoint from the revision
after the last one it delivered.
"""

import queue
import threading
import time

import grpc
from etcd3 import etcdrpc

from etcd_rpc import ALL, CHANNEL_OPTIONS

NOPUT, NODELETE = 0, 1  # WatchCreateRequest.FilterType
INVALID_WATCH_ID = -1  # clientv3.InvalidWatchID: progress replies, failed creates
# Replies may hold a whole catch-up batch; fragments are bounded by the server.
# Each stream's channel gets its own connection, as separate clients would.
RECEIVE_OPTIONS = CHANNEL_OPTIONS + [("grpc.max_receive_message_length", -1),
                                     ("grpc.use_local_subchannel_pool", 1)]


def _varint(n):
    n &= (1 << 64) - 1  # negative int64 values take ten bytes, as in protobuf
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number, value):
    return _varint(number << 3) + _varint(value)


def _field_bytes(number, value):
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _b(x):
    return x.encode() if isinstance(x, str) else x


def create_request(key, range_end=b"", start_revision=0, progress_notify=False, filters=(),
                   prev_kv=False, watch_id=0, fragment=False):
    """A serialized WatchRequest{create_request}. `watch_id` 0 lets the
    server choose; `filters` holds NOPUT / NODELETE."""
    known = etcdrpc.WatchCreateRequest(key=_b(key), range_end=_b(range_end),
                                       start_revision=start_revision,
                                       progress_notify=progress_notify, filters=list(filters),
                                       prev_kv=prev_kv).SerializeToString()
    if watch_id:
        known += _field_varint(7, watch_id)
    if fragment:
        known += _field_varint(8, 1)
    return _field_bytes(1, known)


def cancel_request(watch_id):
    """A serialized WatchRequest{cancel_request}."""
    return etcdrpc.WatchRequest(
        cancel_request=etcdrpc.WatchCancelRequest(watch_id=watch_id)).SerializeToString()


def progress_request():
    """A serialized WatchRequest{progress_request: {}} (etcd 3.4)."""
    return _field_bytes(3, b"")


def _read_varint(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _top_level_varint(data, number):
    """The last value of varint field `number` at the top level of a
    serialized message, or 0."""
    pos, found = 0, 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        wire = tag & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            if tag >> 3 == number:
                found = value
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("unexpected wire type %d in a WatchResponse" % wire)
    return found


def event_tuple(ev):
    """(revision, "PUT"|"DELETE", key, value) of an mvccpb.Event."""
    return (ev.kv.mod_revision, "DELETE" if ev.type else "PUT", ev.kv.key, ev.kv.value)


class Reply:
    """One WatchResponse: `msg` is the etcd3 message; `fragment` and `size`
    (serialized bytes) come from the raw reply."""

    def __init__(self, data):
        self.msg = etcdrpc.WatchResponse.FromString(data)
        self.fragment = bool(_top_level_varint(data, 7))
        self.size = len(data)

    watch_id = property(lambda self: self.msg.watch_id)
    created = property(lambda self: self.msg.created)
    canceled = property(lambda self: self.msg.canceled)
    compact_revision = property(lambda self: self.msg.compact_revision)
    cancel_reason = property(lambda self: self.msg.cancel_reason)
    revision = property(lambda self: self.msg.header.revision)

    @property
    def events(self):
        return [event_tuple(ev) for ev in self.msg.events]

    def __repr__(self):
        return ("Reply(watch_id=%d created=%s canceled=%s compact=%d reason=%r fragment=%s "
                "revision=%d events=%d)" % (self.watch_id, self.created, self.canceled,
                                            self.compact_revision, self.cancel_reason,
                                            self.fragment, self.revision, len(self.msg.events)))


class StreamEnded(Exception):
    """The stream ended; `error` is the grpc.RpcError, or None on a clean end."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


_END = object()


class WatchStream:
    """One Watch stream to one endpoint. Requests are queued and sent in
    order; replies are read by a background thread (unless read=False) and
    handed out by next()."""

    def __init__(self, endpoint, read=True, timeout=10.0, channel=None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._own_channel = channel is None
        self.channel = channel or grpc.insecure_channel(endpoint, options=RECEIVE_OPTIONS)
        self._requests = queue.Queue()
        self._replies = queue.Queue()
        self._call = self.channel.stream_stream(
            "/etcdserverpb.Watch/Watch", request_serializer=None,
            response_deserializer=Reply)(self._request_iter())
        self._reader = None
        if read:
            self.start_reading()

    def _request_iter(self):
        while True:
            req = self._requests.get()
            if req is None:
                return
            yield req

    def start_reading(self):
        if self._reader is None:
            self._reader = threading.Thread(target=self._read, daemon=True,
                                            name="watch-reader-" + self.endpoint)
            self._reader.start()

    def _read(self):
        try:
            for reply in self._call:
                self._replies.put(reply)
            self._replies.put(StreamEnded(None))
        except grpc.RpcError as e:
            self._replies.put(StreamEnded(e))

    def send(self, request):
        self._requests.put(request)

    def create(self, key, range_end=b"", **kwargs):
        """Sends a create request; see create_request for the arguments."""
        self.send(create_request(key, range_end, **kwargs))

    def create_and_wait(self, key, range_end=b"", **kwargs):
        """Creates a watch and returns its `created` reply (the stream must
        carry no other traffic meanwhile)."""
        self.create(key, range_end, **kwargs)
        reply = self.next()
        assert reply.created, "expected a created reply, got %r" % reply
        return reply

    def cancel(self, watch_id):
        self.send(cancel_request(watch_id))

    def progress(self):
        self.send(progress_request())

    def next(self, timeout=None):
        """The next Reply. Raises StreamEnded when the stream ended, fails
        the test when none arrives within `timeout` seconds."""
        timeout = self.timeout if timeout is None else timeout
        try:
            item = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("%s: no watch reply within %.1fs" % (self.endpoint, timeout)) \
                from None
        if isinstance(item, StreamEnded):
            self._replies.put(item)  # stays ended for later calls
            raise item
        return item

    def poll(self):
        """The next Reply if one is already here, else None."""
        try:
            item = self._replies.get_nowait()
        except queue.Empty:
            return None
        if isinstance(item, StreamEnded):
            self._replies.put(item)
            raise item
        return item

    def read_until(self, targets, timeout=None):
        """Reads replies until, for each watch id in `targets` ({watch_id:
        revision}), the watch's events reach that revision and its last reply
        is not a fragment. Returns {watch_id: [Reply]}; replies of other
        watches are dropped. Fails when a targeted watch is canceled."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        replies = {w: [] for w in targets}

        def done(w):
            events = [ev for r in replies[w] for ev in r.events]
            return events and events[-1][0] >= targets[w] and not replies[w][-1].fragment

        while not all(done(w) for w in targets):
            reply = self.next(max(0.0, deadline - time.monotonic()))
            if reply.watch_id not in replies or reply.created:
                continue
            assert not reply.canceled, "watch canceled: %r" % reply
            replies[reply.watch_id].append(reply)
        return replies

    def events_until(self, revision, watch_id=None, timeout=None):
        """Reads replies until the events of `watch_id` (of any watch when
        None: for streams with one watch) reach `revision`; returns (events,
        replies) of that watch."""
        if watch_id is not None:
            replies = self.read_until({watch_id: revision}, timeout)[watch_id]
            return [ev for r in replies for ev in r.events], replies
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        events, replies = [], []
        while not events or events[-1][0] < revision or replies[-1].fragment:
            reply = self.next(max(0.0, deadline - time.monotonic()))
            if reply.created:
                continue
            assert not reply.canceled, "watch canceled: %r" % reply
            replies.append(reply)
            events.extend(reply.events)
        return events, replies

    def close(self):
        self._requests.put(None)
        self._call.cancel()
        if self._own_channel:
            self.channel.close()
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ResumingWatcher:
    """Watches [key, range_end) from `start_revision` across member failures,
    as clientv3 does: when the stream to the current endpoint fails, the
    watch is created again on the next endpoint from the revision after the
    last delivered event. `events` holds every delivered event in order;
    `resumes` lists (endpoint, start_revision) of each watch created."""

    def __init__(self, endpoints, key=ALL, range_end=ALL, start_revision=1, name="watcher"):
        self.endpoints = list(endpoints)
        self.key, self.range_end = _b(key), _b(range_end)
        self.next_revision = start_revision
        self.name = name
        self.events = []
        self.resumes = []
        self.failures = []  # why each stream ended
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        at = 0
        while not self._stop.is_set():
            endpoint = self.endpoints[at]
            try:
                self._watch(endpoint)
            except (StreamEnded, grpc.RpcError, AssertionError) as e:
                with self._cond:
                    self.failures.append((endpoint, repr(e)))
                at = (at + 1) % len(self.endpoints)
                self._stop.wait(0.1)  # reconnect backoff, as clients do

    def _watch(self, endpoint):
        with WatchStream(endpoint, timeout=1.0) as stream:
            with self._cond:
                self.resumes.append((endpoint, self.next_revision))
            stream.create(self.key, self.range_end, start_revision=self.next_revision)
            while not self._stop.is_set():
                try:
                    reply = stream.next(0.2)
                except AssertionError:
                    continue  # nothing yet; look at the stop flag again
                if reply.created and reply.canceled or reply.compact_revision:
                    raise AssertionError("watch ended by the server: %r" % reply)
                if reply.canceled:
                    raise AssertionError("watch canceled: %r" % reply)
                with self._cond:
                    for ev in reply.events:
                        assert ev[0] >= self.next_revision, \
                            "%s: event %r before the requested revision %d" % (
                                endpoint, ev, self.next_revision)
                    self.events.extend(reply.events)
                    if reply.events:
                        self.next_revision = reply.events[-1][0] + 1
                    self._cond.notify_all()

    def wait_for_revision(self, revision, timeout):
        """Waits until events up to `revision` were delivered."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self.next_revision > revision, timeout)
            if not ok:
                raise AssertionError(
                    "%s delivered events only up to revision %d of %d within %.1fs; "
                    "stream failures: %s" % (self.name, self.next_revision - 1, revision,
                                             timeout, self.failures[-5:]))
