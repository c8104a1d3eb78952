"""End-of-test checks shared by the cluster fault tests: members converge to
identical data, acknowledged writes survive, histories are linearizable."""

import warnings

import etcd_rpc
from linearizability import check


class HashKVNotCompared(UserWarning):
    """HashKV could not be compared because the server does not implement it."""


class HistoryNotCompared(UserWarning):
    """Histories could not be read (no Watch); a weaker check was used."""


def converged(servers, timeout=30.0):
    """Waits until every server answers linearizable reads of all keys with the
    same revision and contents; returns (revision, {key: (value, create, mod,
    version)}). Call with no writes in flight."""
    return etcd_rpc.converged_state(servers, timeout)


def same_history(servers, revision):
    """Reads every event up to `revision` from each server (a watch from
    revision 1) and asserts that all servers hold the same history; returns it
    as a list of (revision, "PUT"|"DELETE", key, value)."""
    histories = {}
    for s in servers:
        with etcd_rpc.Client(s.endpoint, timeout=15) as c:
            histories[s.name] = c.history(revision)
    first_name, first = next(iter(histories.items()))
    for name, events in histories.items():
        if events != first:
            diff = next((i for i, (a, b) in enumerate(zip(first, events)) if a != b),
                        min(len(first), len(events)))
            raise AssertionError(
                "%s and %s hold different histories: %d vs %d events, first difference at "
                "event %d: %r vs %r" % (first_name, name, len(first), len(events), diff,
                                        first[diff:diff + 1], events[diff:diff + 1]))
    revisions = {e[0] for e in first}
    missing = [r for r in range(2, revision + 1) if r not in revisions]
    assert not missing, "revisions without events in the history: %s" % missing[:10]
    return first


def acknowledged_writes_on_every_member(servers, acked, revision, contents):
    """Asserts that every server holds the same history up to `revision` and
    that every acknowledged put (key, value, revision) is in it at its revision;
    and that each is its key's current value in `contents` unless a later
    revision overwrote it. Without Watch on the server, the history is not
    compared (HistoryNotCompared warning) and each acknowledged put is instead
    read with Range at its revision on every server."""
    try:
        events, unimplemented = same_history(servers, revision), None
    except etcd_rpc.Unimplemented as e:
        events, unimplemented = None, e
    if events is None:
        warnings.warn(HistoryNotCompared(
            "histories not compared (%s); acknowledged puts read with Range at their "
            "revisions instead" % unimplemented))
        for s in servers:
            with etcd_rpc.Client(s.endpoint, timeout=15) as c:
                found = c.values_at([(key, rev) for key, _, rev in acked])
            lost = [(a, f) for a, f in zip(acked, found) if f != (a[1], a[2])]
            assert not lost, "%s: %d of %d acknowledged puts are not there at their " \
                "revision, e.g. (key, value, revision) -> (value, mod_revision) found: %s" % (
                    s.name, len(lost), len(acked), lost[:5])
    else:
        by_revision = {}
        for rev, kind, key, value in events:
            by_revision.setdefault(rev, []).append((kind, key, value))
        lost = [(key, value, rev) for key, value, rev in acked
                if ("PUT", key, value) not in by_revision.get(rev, [])]
        assert not lost, "%d of %d acknowledged puts are not in the history at their " \
            "revision, e.g. %s" % (len(lost), len(acked), lost[:5])
    for key, value, rev in acked:
        assert key in contents, "acknowledged %r=%r (revision %d) is gone" % (key, value, rev)
        cur_value, _, cur_mod, _ = contents[key]
        assert cur_mod > rev or (cur_mod == rev and cur_value == value), \
            "acknowledged %r=%r at revision %d, but the key holds %r from revision %d" % (
                key, value, rev, cur_value, cur_mod)


def same_hash_kv(servers, revision):
    """Asserts that HashKV at `revision` matches on every server. When the
    server answers UNIMPLEMENTED, warns (HashKVNotCompared) and returns False."""
    try:
        hashes = etcd_rpc.hash_kv_all(servers, revision)
    except etcd_rpc.Unimplemented as e:
        warnings.warn(HashKVNotCompared("HashKV not compared, the server does not implement "
                                        "it (%s); contents and revisions were compared" % e))
        return False
    assert len(set(hashes.values())) == 1, "HashKV at revision %d differs: %s" % (
        revision, hashes)
    return True


def linearizable(ops):
    """Asserts that a recorded history is linearizable, key by key."""
    result = check(ops)
    assert result, result.message
    return result
