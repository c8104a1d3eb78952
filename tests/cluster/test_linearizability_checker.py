"""The linearizability checker (tests/support/linearizability.py) on known
histories, and against a brute-force checker on random small ones.

Timelines are written as intervals: write("k", "a", 0, 2) is a write of "a"
invoked at 0 and acknowledged at 2; a response of None means its outcome is
unknown. Randomized tests print their seed on failure (LIN_SEED reruns one).
"""

import itertools
import os
import random
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from linearizability import (History, Op, SearchLimitExceeded, check,  # noqa: E402
                             check_register, read, write)


def W(value, invoke, response, key="k", process=None):  # noqa: N802
    return write(key, value, invoke, response, process)


def R(value, invoke, response, key="k", process=None):  # noqa: N802
    return read(key, value, invoke, response, process)


# -- known histories ----------------------------------------------------------

def test_empty_history_is_linearizable():
    assert check([])


def test_sequential_write_then_read():
    assert check([W("a", 0, 1), R("a", 2, 3)])


def test_read_of_the_initial_value():
    assert check([R(None, 0, 1), W("a", 2, 3), R("a", 4, 5)])
    assert check([R("x", 0, 1)], init="x")


def test_read_of_a_value_never_written_is_not_linearizable():
    result = check([W("a", 0, 1), R("b", 2, 3)])
    assert not result and "no write wrote" in result.message


def test_stale_read_after_a_completed_overwrite_is_not_linearizable():
    result = check([W("a", 0, 1), W("b", 2, 3), R("a", 4, 5)])
    assert not result
    assert result.key == "k" and "cannot be placed" in result.message


def test_read_before_the_write_was_invoked_is_not_linearizable():
    assert not check([R("a", 0, 1), W("a", 2, 3)])


def test_concurrent_writes_may_take_effect_in_either_order():
    assert check([W("a", 0, 10), W("b", 1, 9), R("a", 11, 12)])
    assert check([W("a", 0, 10), W("b", 1, 9), R("b", 11, 12)])


def test_read_concurrent_with_a_write_sees_old_or_new():
    assert check([W("a", 0, 1), W("b", 2, 10), R("a", 3, 4)])
    assert check([W("a", 0, 1), W("b", 2, 10), R("b", 3, 4)])


def test_new_then_old_reads_during_a_write_are_not_linearizable():
    # The first read returned the new value before the second began: once a
    # read has seen b, no later read may see a.
    assert not check([W("a", 0, 1), W("b", 2, 10), R("b", 3, 4), R("a", 5, 6)])
    # Overlapping reads may disagree in either order.
    assert check([W("a", 0, 1), W("b", 2, 10), R("b", 3, 6), R("a", 4, 5)])


def test_reads_agree_on_one_order_of_concurrent_writes():
    # a and b overlap; reader 1 sees b then a, reader 2 sees a then b: no
    # single order of the two writes explains both.
    ops = [W("a", 0, 10), W("b", 0, 10),
           R("b", 1, 2), R("a", 3, 4), R("a", 5, 6), R("b", 7, 8)]
    assert not check(ops)
    assert check(ops[:4])


def test_indeterminate_write_observed_later_is_linearizable():
    assert check([W("a", 0, 1), W("b", 2, None), R("b", 50, 51)])


def test_indeterminate_write_never_observed_is_linearizable():
    assert check([W("a", 0, 1), W("b", 2, None), R("a", 50, 51), R("a", 60, 61)])


def test_indeterminate_write_cannot_be_undone():
    # Once a read saw b, a later read cannot see the older a again.
    assert not check([W("a", 0, 1), W("b", 2, None), R("b", 3, 4), R("a", 5, 6)])


def test_indeterminate_write_cannot_be_seen_before_its_invocation():
    result = check([R("b", 0, 1), W("b", 2, None)])
    assert not result and "before its (indeterminate) write" in result.message


def test_indeterminate_write_may_take_effect_long_after_it_timed_out():
    # The client gave up at once, yet the write applied after a later write.
    assert check([W("a", 0, None), W("b", 1, 2), R("b", 3, 4), R("a", 5, 6)])


def test_failed_operations_constrain_nothing():
    failed_write = Op("p", "write", "k", "x", 0, 1, "fail")
    failed_read = Op("p", "read", "k", "zzz", 0, 1, "fail")
    unknown_read = Op("p", "read", "k", "zzz", 0, None, "unknown")
    assert check([failed_write, failed_read, unknown_read, R(None, 2, 3)])
    # A failed write was not applied: a read of its value is unexplained.
    assert not check([failed_write, R("x", 2, 3)])


def test_repeated_values_with_indeterminate_writes():
    # A value written twice keeps its indeterminate writes optional: each may
    # take effect once, at any time after its invocation, or never.
    base = [W(1, 0, 1), W(2, 2, 3), W(1, 4, None)]
    assert not check(base + [R(1, 5, 6), R(2, 7, 8)])
    assert check(base + [R(2, 5, 6), R(1, 7, 8)])
    assert check(base + [W(2, 5, None), R(1, 6, 7), R(2, 8, 9)])
    assert not check(base + [W(2, 5, None), R(1, 6, 7), R(2, 8, 9), R(1, 10, 11)])


def test_keys_are_independent_registers():
    ok = [W("a", 0, 1, key="x"), R("a", 2, 3, key="x"), R(None, 2, 3, key="y")]
    assert check(ok)
    bad = ok + [W("b", 4, 5, key="y"), W("c", 6, 7, key="y"), R("b", 8, 9, key="y")]
    result = check(bad)
    assert not result and result.key == "y"


def test_history_recorder():
    clock = iter(range(100)).__next__
    h = History(clock=clock)
    w = h.invoke("w1", "write", "k", "a")
    r = h.invoke("r1", "read", "k")
    h.ok(w)
    h.ok(r, "a")
    lost = h.invoke("w1", "write", "k", "b")
    h.unknown(lost)
    assert (w.invoke, w.response, r.value, lost.response) == (0, 2, "a", None)
    assert check(h.snapshot())


# -- brute force cross-check ----------------------------------------------------

def brute_force(ops, init=None):
    """Tries every subset of indeterminate writes and every order consistent
    with real time: the definition, without the checker's reductions."""
    ops = [op for op in ops if op.status != "fail"
           and not (op.kind == "read" and op.status != "ok")]
    required = [op for op in ops if op.status == "ok"]
    maybe = [op for op in ops if op.status != "ok"]

    def end(op):
        return op.response if op.response is not None else float("inf")

    def search(remaining, state):
        if not remaining:
            return True
        bound = min(end(op) for op in remaining)
        for op in remaining:
            if op.invoke > bound:
                continue
            if op.kind == "read" and op.value != state:
                continue
            rest = [o for o in remaining if o is not op]
            if search(rest, op.value if op.kind == "write" else state):
                return True
        return False

    return any(search(required + list(chosen), init)
               for k in range(len(maybe) + 1)
               for chosen in itertools.combinations(maybe, k))


def random_small_history(rng):
    values = ["a", "b", "c"]
    ops = []
    for process in range(3):
        t = rng.uniform(0, 3)
        for _ in range(rng.randint(1, 3)):
            start, t = t, t + rng.uniform(0.5, 4)
            kind = rng.choice(["read", "write"])
            status = rng.choices(["ok", "unknown", "fail"], [6, 2, 1])[0]
            value = rng.choice(values) if kind == "write" else rng.choice(values + [None])
            response = None if status == "unknown" else t
            ops.append(Op(process, kind, "k", value, start, response, status))
            t += rng.uniform(0, 1)
            if status == "unknown":
                break  # a client that lost track of an op moves on to a new process
    return ops


def test_agrees_with_brute_force_on_random_small_histories():
    seed = int(os.environ.get("LIN_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    outcomes = set()
    for i in range(4000):
        ops = random_small_history(rng)
        expected = brute_force(ops)
        got = bool(check_register(ops))
        assert got == expected, "seed %d history %d: checker %s, brute force %s:\n%s" % (
            seed, i, got, expected, "\n".join(map(repr, ops)))
        outcomes.add(got)
    assert outcomes == {True, False}, "seed %d: the random histories were all alike" % seed


# -- long histories -----------------------------------------------------------

def simulated_history(rng, processes=6, ops_per_process=1000, keys=4):
    """A linearizable history: each op takes effect at a random point inside
    its interval; some writes lose their response (and took effect or not)."""
    events = []
    for process in range(processes):
        t = rng.uniform(0, 1)
        for n in range(ops_per_process):
            start, end = t, t + rng.expovariate(1.0)
            point = rng.uniform(start, end)
            key = "k%d" % rng.randrange(keys)
            kind = rng.choice(["read", "write"])
            lost = kind == "write" and rng.random() < 0.03
            events.append((point, Op(process, kind, key, "p%d-%d" % (process, n), start,
                                     None if lost else end, "unknown" if lost else "ok"),
                           lost and rng.random() < 0.5))
            t = end + rng.expovariate(5.0)
    state = {}
    for _, op, never_applied in sorted(events, key=lambda e: e[0]):
        if op.kind == "write":
            if not never_applied:
                state[op.key] = op.value
        else:
            op.value = state.get(op.key)
    return [op for _, op, _ in events]


def test_long_linearizable_history_is_checked_quickly():
    seed = int(os.environ.get("LIN_SEED", random.randrange(1 << 30)))
    ops = simulated_history(random.Random(seed))
    start = time.monotonic()
    result = check(ops)
    elapsed = time.monotonic() - start
    assert result, "seed %d: %s" % (seed, result.message)
    print("seed %d: %d ops, %d configurations, %.2fs" % (seed, len(ops), result.configurations,
                                                          elapsed))


def test_anomaly_at_the_end_of_a_long_history_is_found():
    seed = int(os.environ.get("LIN_SEED", random.randrange(1 << 30)))
    ops = simulated_history(random.Random(seed), processes=4, ops_per_process=500, keys=1)
    end = max(op.response or op.invoke for op in ops) + 1
    ops += [W("x", end, end + 1), W("y", end + 2, end + 3), R("x", end + 4, end + 5)]
    result = check(ops)
    assert not result, "seed %d" % seed
    assert "read()->'x'" in result.message


def test_search_limit_reports_undecided():
    # Sixteen concurrent writes of two values, then reads no order explains:
    # proving that takes a search over every subset of the writes.
    ops = [W(i % 2, 0, 100) for i in range(16)] + [R(0, 101, 102), R(1, 103, 104)]
    with pytest.raises(SearchLimitExceeded):
        check(ops, max_configurations=50)
