"""A linearizability checker for histories of single-register operations.

Clients record what they did:

    history = History()
    op = history.invoke("writer-1", "write", b"/k", b"v1")   # before sending
    ...                                                       # the RPC
    history.ok(op)               # acknowledged (a read passes the value seen)
    history.fail(op)             # definitely not applied (e.g. rejected)
    history.unknown(op)          # outcome unknown (timeout, connection lost)

and the test asks `check(history.ops)`, which is truthy when the history is
linearizable and otherwise carries a readable explanation.

The model: every key is an independent register, initially `init` (None:
absent). write(v) sets it; read() returns it. A history is linearizable when
each completed operation can be given a point in time between its invocation
and its response such that, in the order of those points, every read returns
the value of the latest write before it (Herlihy & Wing). An operation whose
outcome is unknown may take effect at any time after its invocation, or never;
a read whose outcome is unknown constrains nothing and is dropped.

Registers compose (Herlihy & Wing's locality, "P-compositionality"): a history
is linearizable iff each key's sub-history is, so keys are checked separately.

Per key, the search is Wing & Gong's, with Lowe's memoization as in Knossos and
Porcupine: a depth-first search over "which operations are linearized so far,
and what the register holds", never visiting the same configuration twice. An
operation may be linearized next when no other pending operation returned
before it was invoked. The set of linearized operations is kept as (p, mask):
every operation (in invocation order) before p is linearized, and mask holds
the few after p, so configurations stay small however long the history is.

Indeterminate writes are the expensive part of such searches, and histories
with unique written values (the usual test setup) allow removing them exactly:
- one that no read observed changes no read's result whether or not it took
  effect (were it linearized, the reads up to the next write would return its
  value), so it is dropped;
- one that some read observed must take effect before the earliest such read
  returned, which becomes its response time: it is an ordinary operation.
Indeterminate writes of a value written more than once (or equal to `init`)
stay optional: linearized when the search wants them, never required.
"""

import threading
import time

INFINITY = float("inf")
_UNSET = object()


class Op:
    """One operation. response is None until it completes; status is
    "pending", "ok", "fail" or "unknown"."""

    __slots__ = ("process", "kind", "key", "value", "invoke", "response", "status")

    def __init__(self, process, kind, key, value, invoke, response=None, status="pending"):
        assert kind in ("read", "write"), kind
        self.process = process
        self.kind = kind
        self.key = key
        self.value = value
        self.invoke = invoke
        self.response = response
        self.status = status

    def __repr__(self):
        what = "write(%r)" % (self.value,) if self.kind == "write" else "read()->%r" % (
            self.value,)
        if self.kind == "read" and self.status != "ok":
            what = "read()"
        end = "?" if self.response is None else "%.6f" % self.response
        return "%s %s [%.6f, %s] %s by %s" % (self.key, what, self.invoke, end, self.status,
                                             self.process)


def write(key, value, invoke, response, process=None):
    """A completed write; response None makes its outcome unknown."""
    return Op(process, "write", key, value, invoke, response,
              "ok" if response is not None else "unknown")


def read(key, value, invoke, response, process=None):
    """A completed read that returned `value`."""
    return Op(process, "read", key, value, invoke, response, "ok")


class History:
    """A thread-safe recorder of operations with time.monotonic() timestamps."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self.ops = []

    def invoke(self, process, kind, key, value=None):
        op = Op(process, kind, key, value, self.clock())
        with self._lock:
            self.ops.append(op)
        return op

    def ok(self, op, value=_UNSET):
        op.response = self.clock()
        if value is not _UNSET:
            op.value = value
        op.status = "ok"

    def fail(self, op):
        op.response = self.clock()
        op.status = "fail"

    def unknown(self, op):
        op.status = "unknown"

    def snapshot(self):
        with self._lock:
            return list(self.ops)


class Result:
    """Truthy when linearizable. `message` explains a failure; `configurations`
    counts the search states visited."""

    def __init__(self, ok, message="", key=None, configurations=0):
        self.ok = ok
        self.message = message
        self.key = key
        self.configurations = configurations

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return "Result(ok=%r, key=%r, %s)" % (self.ok, self.key, self.message)


class SearchLimitExceeded(Exception):
    """The search visited more configurations than allowed: undecided."""


def check(ops, init=None, max_configurations=2_000_000):
    """Checks a multi-key history key by key. Returns the first failing key's
    Result, or a truthy Result. Raises SearchLimitExceeded when undecided."""
    by_key = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    total = 0
    for key in sorted(by_key, key=repr):
        result = check_register(by_key[key], init, max_configurations)
        total += result.configurations
        if not result:
            return result
    return Result(True, configurations=total)


def check_register(ops, init=None, max_configurations=2_000_000):
    """Checks the history of one register (all ops on the same key)."""
    key = ops[0].key if ops else None
    required, optional, error = _prepare(ops, init)
    if error:
        return Result(False, error, key)
    return _Search(required, optional, init, key, max_configurations).run()


def _prepare(ops, init):
    """Splits ops into required (invoke, response, op) entries and optional
    (never-required) writes, applying the unique-value reductions. Returns
    (required, optional, error message or None)."""
    reads = [op for op in ops if op.kind == "read" and op.status == "ok"]
    writes = [op for op in ops if op.kind == "write" and op.status != "fail"]
    writers = {}
    for w in writes:
        writers[w.value] = writers.get(w.value, 0) + 1
    first_seen = {}
    for r in reads:
        if r.value != init and r.value not in writers:
            return None, None, "read returned a value no write wrote: %r" % (r,)
        first_seen[r.value] = min(first_seen.get(r.value, INFINITY), r.response)
    required = [(r.invoke, r.response, r) for r in reads]
    optional = []
    for w in writes:
        if w.status == "ok":
            required.append((w.invoke, w.response, w))
        elif writers[w.value] == 1 and w.value != init:
            if w.value in first_seen:
                deadline = first_seen[w.value]
                if deadline < w.invoke:
                    return None, None, ("a read returned %r before its (indeterminate) write "
                                        "was invoked: %r" % (w.value, w))
                required.append((w.invoke, deadline, w))
            # else: unobserved, and so indistinguishable from never applied
        else:
            optional.append((w.invoke, INFINITY, w))
    required.sort(key=lambda e: (e[0], e[1]))
    optional.sort(key=lambda e: e[0])
    return required, optional, None


class _Search:
    """Depth-first search over configurations (p, mask, optmask, state)."""

    def __init__(self, required, optional, init, key, limit):
        self.inv = [e[0] for e in required]
        self.resp = [e[1] for e in required]
        self.ops = [e[2] for e in required]
        self.opt = [e[2] for e in optional]
        self.opt_inv = [e[0] for e in optional]
        self.init = init
        self.key = key
        self.limit = limit
        self.n = len(required)

    def candidates(self, p, mask, optmask, state):
        """Yields (next configuration) for every op that may be linearized now."""
        bound = INFINITY
        i = p
        n = self.n
        while i < n:
            if not (mask >> (i - p)) & 1:
                if self.inv[i] > bound:
                    break
                nxt = self._apply(self.ops[i], state)
                if nxt is not _UNSET:
                    m = mask | (1 << (i - p))
                    t = (~m & (m + 1)).bit_length() - 1  # trailing ones: ops now below p
                    yield (p + t, m >> t, optmask, nxt)
                if self.resp[i] < bound:
                    bound = self.resp[i]
            i += 1
        for j, op in enumerate(self.opt):
            if self.opt_inv[j] > bound:
                break
            if not (optmask >> j) & 1 and op.value != state:
                yield (p, mask, optmask | (1 << j), op.value)

    @staticmethod
    def _apply(op, state):
        if op.kind == "write":
            return op.value
        return state if op.value == state else _UNSET

    def run(self):
        start = (0, 0, 0, self.init)
        if self.n == 0:
            return Result(True, key=self.key, configurations=1)
        seen = {start}
        stack = [self.candidates(*start)]
        deepest, deepest_states = 0, {self.init}
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                continue
            if nxt in seen:
                continue
            p = nxt[0]
            if p == self.n:
                return Result(True, key=self.key, configurations=len(seen))
            seen.add(nxt)
            if len(seen) > self.limit:
                raise SearchLimitExceeded("key %r: more than %d configurations"
                                          % (self.key, self.limit))
            if p > deepest:
                deepest, deepest_states = p, {nxt[3]}
            elif p == deepest:
                deepest_states.add(nxt[3])
            stack.append(self.candidates(*nxt))
        return Result(False, self._explain(deepest, deepest_states), self.key, len(seen))

    def _explain(self, p, states):
        stuck = self.ops[p]
        window = [op for op in self.ops[max(0, p - 3):]
                  if op.invoke <= (stuck.response or INFINITY)][:12]
        return ("key %r is not linearizable: after linearizing the first %d of %d operations "
                "(by invocation) the register may hold %s, and this operation cannot be "
                "placed: %r\nnearby operations:\n  %s"
                % (self.key, p, self.n, sorted(states, key=repr), stuck,
                   "\n  ".join(repr(op) for op in window)))
