"""Thin gRPC access to one etcd/etcdd member, for cluster and fault tests.

    c = Client(server.endpoint)
    c.put(b"/k", b"v").header.revision
    value, mod_revision = c.value(b"/k")
    revision, kvs = c.range_all()
    lease_id = c.grant(5).ID                       # TTL in seconds
    c.put(b"/l", b"v", lease=lease_id)
    c.time_to_live(lease_id, keys=True).TTL        # -1 once the lease is gone
    c.keep_alive_once(lease_id).TTL                # 0 for an unknown lease
    c.close()

Watch streams with etcd 3.4's newer fields are in watch_stream.py, a
fail-over keep-alive loop in lease_keepalive.py.

Raw stubs (etcd3.etcdrpc) rather than the etcd3 client: tests need exact
deadlines, raw status codes, and calls the etcd3 client lacks (HashKV with a
revision, Range at a revision, a watch from revision 1). Channels reconnect
quickly (100 ms .. 1 s backoff) so a restarted member is usable at once.

Waiting helpers poll with a deadline: the condition is an RPC answer, and a
short pause between polls keeps them from spinning.
"""

import threading
import time

import grpc
from etcd3 import etcdrpc

ALL = b"\0"  # key and range_end of a range over every key
# Reconnect soon after a member restarts. grpc.min_reconnect_backoff_ms is left
# at its default on purpose: gRPC also takes it as the minimum time a connection
# attempt may take to receive the server's SETTINGS frame (20 s by default), and
# at 100 ms a member slowed by a busy 2-core machine failed calls with
# "connection attempt timed out before receiving SETTINGS frame".
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class Unimplemented(Exception):
    """The server does not implement the RPC (grpc UNIMPLEMENTED)."""


def _unimplemented_raised(responses, what):
    """Yields from a response stream, turning UNIMPLEMENTED into Unimplemented."""
    try:
        yield from responses
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.UNIMPLEMENTED:
            raise Unimplemented("%s: %s" % (what, e.details() or "UNIMPLEMENTED")) from None
        raise


def _b(x):
    return x.encode() if isinstance(x, str) else x


def prefix_end(prefix):
    """etcd's range_end for a prefix (clientv3.GetPrefixRangeEnd)."""
    p = bytearray(_b(prefix))
    for i in range(len(p) - 1, -1, -1):
        if p[i] < 0xFF:
            p[i] += 1
            return bytes(p[:i + 1])
    return ALL


class Client:
    """Stubs over one channel to one member. Every call takes a deadline in
    seconds (default `timeout`) and raises grpc.RpcError on failure."""

    def __init__(self, endpoint, timeout=5.0):
        self.endpoint = endpoint
        self.timeout = timeout
        self.channel = grpc.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
        self.kv = etcdrpc.KVStub(self.channel)
        self.maintenance = etcdrpc.MaintenanceStub(self.channel)
        self.cluster = etcdrpc.ClusterStub(self.channel)
        self.watch = etcdrpc.WatchStub(self.channel)
        self.lease = etcdrpc.LeaseStub(self.channel)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def put(self, key, value, lease=0, prev_kv=False, timeout=None):
        return self.kv.Put(etcdrpc.PutRequest(key=_b(key), value=_b(value), lease=lease,
                                              prev_kv=prev_kv),
                           timeout=timeout or self.timeout)

    def delete(self, key, range_end=b"", prev_kv=False, timeout=None):
        return self.kv.DeleteRange(etcdrpc.DeleteRangeRequest(
            key=_b(key), range_end=_b(range_end), prev_kv=prev_kv),
            timeout=timeout or self.timeout)

    def txn(self, success, compare=(), failure=(), timeout=None):
        """A Txn of etcdrpc.RequestOp lists; see put_op / delete_op."""
        return self.kv.Txn(etcdrpc.TxnRequest(compare=list(compare), success=list(success),
                                              failure=list(failure)),
                           timeout=timeout or self.timeout)

    def compact(self, revision, physical=True, timeout=None):
        return self.kv.Compact(etcdrpc.CompactionRequest(revision=revision, physical=physical),
                               timeout=timeout or self.timeout)

    # ---- leases

    def grant(self, ttl, lease_id=0, timeout=None):
        """LeaseGrant: TTL in seconds; lease_id 0 lets the server choose."""
        return self.lease.LeaseGrant(etcdrpc.LeaseGrantRequest(TTL=ttl, ID=lease_id),
                                     timeout=timeout or self.timeout)

    def revoke(self, lease_id, timeout=None):
        return self.lease.LeaseRevoke(etcdrpc.LeaseRevokeRequest(ID=lease_id),
                                      timeout=timeout or self.timeout)

    def time_to_live(self, lease_id, keys=False, timeout=None):
        """LeaseTimeToLive: TTL -1 (and no error) for an unknown lease, as in etcd."""
        return self.lease.LeaseTimeToLive(etcdrpc.LeaseTimeToLiveRequest(ID=lease_id, keys=keys),
                                          timeout=timeout or self.timeout)

    def leases(self, timeout=None):
        """Ids of LeaseLeases, in the server's order."""
        resp = self.lease.LeaseLeases(etcdrpc.LeaseLeasesRequest(),
                                      timeout=timeout or self.timeout)
        return [lease.ID for lease in resp.leases]

    def keep_alive(self, lease_ids, timeout=None):
        """One LeaseKeepAlive stream carrying a request per id in `lease_ids`;
        returns the responses (TTL 0 for an unknown lease, as in etcd)."""
        done = threading.Event()
        ids = list(lease_ids)

        def requests():
            for lease_id in ids:
                yield etcdrpc.LeaseKeepAliveRequest(ID=lease_id)
            done.wait()

        call = self.lease.LeaseKeepAlive(requests(), timeout=timeout or self.timeout)
        out = []
        try:
            for resp in call:
                out.append(resp)
                if len(out) == len(ids):
                    break
        finally:
            done.set()
            call.cancel()
        return out

    def keep_alive_once(self, lease_id, timeout=None):
        return self.keep_alive([lease_id], timeout)[0]

    def get(self, key, range_end=b"", serializable=False, revision=0, timeout=None):
        req = etcdrpc.RangeRequest(key=_b(key), range_end=_b(range_end),
                                   serializable=serializable, revision=revision)
        return self.kv.Range(req, timeout=timeout or self.timeout)

    def value(self, key, serializable=False, timeout=None):
        """(value bytes or None when absent, mod_revision or 0)."""
        resp = self.get(key, serializable=serializable, timeout=timeout)
        if not resp.kvs:
            return None, 0
        return resp.kvs[0].value, resp.kvs[0].mod_revision

    def range_all(self, prefix=None, serializable=False, timeout=None):
        """(header revision, {key: (value, create_revision, mod_revision, version)})
        of every key, or of those under `prefix`."""
        key, end = (ALL, ALL) if prefix is None else (_b(prefix), prefix_end(prefix))
        resp = self.get(key, end, serializable=serializable, timeout=timeout)
        kvs = {kv.key: (kv.value, kv.create_revision, kv.mod_revision, kv.version)
               for kv in resp.kvs}
        return resp.header.revision, kvs

    def status(self, timeout=None):
        return self.maintenance.Status(etcdrpc.StatusRequest(), timeout=timeout or self.timeout)

    def hash_kv(self, revision=0, timeout=None):
        return self.maintenance.HashKV(etcdrpc.HashKVRequest(revision=revision),
                                       timeout=timeout or self.timeout)

    def member_list(self, timeout=None):
        return self.cluster.MemberList(etcdrpc.MemberListRequest(),
                                       timeout=timeout or self.timeout).members

    def history(self, end_revision, start_revision=1, timeout=None):
        """Every event of revisions start_revision..end_revision on every key,
        as (revision, "PUT"|"DELETE", key, value), read with a watch. Each
        revision up to the store's current one has at least one event, so the
        watch ends once it delivers end_revision."""
        done = threading.Event()

        def requests():
            yield etcdrpc.WatchRequest(create_request=etcdrpc.WatchCreateRequest(
                key=ALL, range_end=ALL, start_revision=start_revision))
            done.wait()

        call = self.watch.Watch(requests(), timeout=timeout or self.timeout * 4)
        events = []
        try:
            for resp in _unimplemented_raised(call, "%s: Watch" % self.endpoint):
                if resp.canceled:
                    raise AssertionError("%s: watch canceled: %s" % (self.endpoint,
                                                                    resp.cancel_reason))
                for ev in resp.events:
                    events.append((ev.kv.mod_revision, "DELETE" if ev.type else "PUT",
                                   ev.kv.key, ev.kv.value))
                if events and events[-1][0] >= end_revision:
                    break
        finally:
            done.set()
            call.cancel()
        return [e for e in events if e[0] <= end_revision]

    def values_at(self, puts, timeout=None, window=256):
        """For each (key, revision) of `puts`: the key's (value, mod_revision)
        at that revision, or None when absent, read with Range at a revision
        (up to `window` requests in flight)."""
        out = []
        for i in range(0, len(puts), window):
            futures = [self.kv.Range.future(
                etcdrpc.RangeRequest(key=_b(key), revision=rev), timeout=timeout or self.timeout)
                for key, rev in puts[i:i + window]]
            for f in futures:
                kvs = f.result().kvs
                out.append((kvs[0].value, kvs[0].mod_revision) if kvs else None)
        return out


def put_op(key, value, lease=0):
    return etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=_b(key), value=_b(value),
                                                            lease=lease))


def delete_op(key, range_end=b""):
    return etcdrpc.RequestOp(request_delete_range=etcdrpc.DeleteRangeRequest(
        key=_b(key), range_end=_b(range_end)))


def wait_until(condition, timeout, what, interval=0.05):
    """Polls `condition()` until it returns a truthy value, which is returned.
    grpc.RpcError counts as not yet. Fails after `timeout` seconds with `what`
    and the last answer or error."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result = condition()
            if result:
                return result
            last = result
        except grpc.RpcError as e:
            last = "%s: %s" % (e.code(), e.details())
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        threading.Event().wait(interval)


def member_status(server, timeout=1.0):
    """(own member id, leader id seen, raft term) of a running member, or None
    when it does not answer."""
    with Client(server.endpoint) as c:
        try:
            s = c.status(timeout=timeout)
        except grpc.RpcError:
            return None
        return s.header.member_id, s.leader, s.raftTerm


def agreed_leader(servers, exclude_ids=()):
    """The Server that every one of `servers` names as leader, if they all name
    the same one, it is among them and not excluded; else None."""
    seen = [member_status(s) for s in servers]
    if any(x is None for x in seen):
        return None
    leaders = {leader for _, leader, _ in seen}
    if len(leaders) != 1:
        return None
    leader = leaders.pop()
    if leader == 0 or leader in exclude_ids:
        return None
    for server, (own, _, _) in zip(servers, seen):
        if own == leader:
            return server
    return None


def wait_for_leader(servers, timeout, exclude_ids=()):
    """Waits until every one of `servers` names the same leader among them."""
    return wait_until(lambda: agreed_leader(servers, exclude_ids), timeout,
                      "a leader agreed on by %s" % [s.name for s in servers])


def member_id(server, timeout=5.0):
    with Client(server.endpoint) as c:
        return c.status(timeout=timeout).header.member_id


def converged_state(servers, timeout=30.0, prefix=None):
    """Waits until linearizable reads of every key on every server return the
    same revision and contents; returns (revision, contents). Call it when no
    writes are in flight."""
    def same():
        states = []
        for s in servers:
            with Client(s.endpoint) as c:
                states.append(c.range_all(prefix, timeout=5))
        first = states[0]
        return first if all(st == first for st in states[1:]) else None
    return wait_until(same, timeout, "the same revision and contents on %s"
                      % [s.name for s in servers])




def hash_kv_all(servers, revision, timeout=10.0):
    """{name: (hash, compact_revision)} of HashKV at `revision` on every server.
    Raises Unimplemented when a server answers UNIMPLEMENTED."""
    out = {}
    for s in servers:
        with Client(s.endpoint) as c:
            try:
                r = c.hash_kv(revision, timeout=timeout)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    raise Unimplemented("%s: HashKV: %s"
                                        % (s.name, e.details() or "UNIMPLEMENTED")) from None
                raise
            out[s.name] = (r.hash, r.compact_revision)
    return out
