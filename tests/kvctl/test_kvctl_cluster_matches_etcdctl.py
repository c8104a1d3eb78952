"""kvctl's cluster commands print what etcdctl 3.4 prints, on a 3-member cluster.

member list/add/update/promote/remove, endpoint status/health/hashkv (with and
without --cluster), defrag and move-leader, in every output format, with their error
messages and exit codes. Every case runs etcdctl, then kvctl, on the same
cluster in the same state and compares stdout, stderr and exit code:

  - read-only commands run back to back;
  - a change is made by each tool on its own object (each adds its own
    learner) or is undone between the two runs (move-leader).

The members are $ETCDD_BIN (tests/support/etcdd_harness.py); with
ETCDD_BIN=/usr/bin/etcd the suite checks kvctl against real etcd.

Normalized, besides what kvctl_compare.py normalizes:
  - a member added during the test gets an id that etcd derives from its peer
    URLs and the clock, and each tool's new member has its own peer port: the
    id becomes NEWID and the port PORT, and since members are listed in id
    order, the lists holding the new member are sorted;
  - etcdctl checks endpoint health concurrently and prints the records in the
    order the checks end; the records are sorted;
  - endpoint status: raft indexes, besides backend sizes (the leader appends
    entries of its own, such as the cluster version, at any time).
"""

import json
import os
import re
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
sys.path.insert(0, HERE)
pytest.register_assert_rewrite("kvctl_compare")

from etcdd_harness import Cluster, Server, free_port  # noqa: E402
from kvctl_compare import (FORMATS, TOOLS, Run, assert_same,  # noqa: E402
                           collapse_padding, first_error_line, run, without_db_sizes,
                           without_durations)

NOT_IN_SYNC = b"Error: etcdserver: can only promote a learner member which is in sync with leader\n"
UNHEALTHY = b"Error: etcdserver: unhealthy cluster\n"
# How long a poll for a cluster condition may take before the test fails.
POLL_DEADLINE = 60


def url(port):
    return "http://127.0.0.1:%d" % port


# ---- the cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("cluster"), 3) as c:
        for key, value in [("a", "1"), ("b", "2"), ("a", "3")]:
            r = run("etcdctl", ["--endpoints", c.members[0].endpoint, "put", key, value])
            assert r.code == 0, r.err
        yield c


@pytest.fixture
def ep(cluster):
    """One member's endpoint: response headers name the member that answered,
    so membership commands address one member, as etcdctl users do."""
    return ["--endpoints", cluster.members[0].endpoint]


@pytest.fixture
def all_eps(cluster):
    return ["--endpoints", ",".join(cluster.endpoints())]


def etcdctl_ok(args):
    r = run("etcdctl", args)
    assert r.code == 0, (args, r)
    return r


def members(ep):
    return json.loads(etcdctl_ok(ep + ["-w", "json", "member", "list"]).out)["members"]


def member_id(ep, peer_url):
    ids = [m["ID"] for m in members(ep) if peer_url in m.get("peerURLs", [])]
    assert len(ids) == 1, (peer_url, members(ep))
    return ids[0]


def statuses(cluster):
    """member id -> (endpoint, StatusResponse as json)."""
    out = {}
    for m in cluster.members:
        s = json.loads(etcdctl_ok(["--endpoints", m.endpoint, "-w", "json", "endpoint",
                                   "status"]).out)[0]["Status"]
        out[s["header"]["member_id"]] = (m.endpoint, s)
    return out


def leadership(cluster):
    """(leader id, [follower ids]) as the leader itself reports it."""
    st = statuses(cluster)
    leaders = [i for i, (_, s) in st.items() if s["leader"] == i]
    assert len(leaders) == 1, st
    return leaders[0], sorted(i for i in st if i != leaders[0])


def add_learner_when_healthy(ep, peer_url):
    """etcd refuses membership changes until every voting member has been
    connected for a while (its strict reconfiguration check answers
    "unhealthy cluster"); retries until the add goes through."""
    deadline = time.monotonic() + POLL_DEADLINE
    while True:
        r = run("etcdctl", ep + ["member", "add", "probe", "--learner", "--peer-urls", peer_url])
        if r.code == 0 or r.err != UNHEALTHY or time.monotonic() > deadline:
            assert r.code == 0, r
            return member_id(ep, peer_url)
        time.sleep(0.2)  # a pause between polls, not a wait for the event


@pytest.fixture
def reconfigurable(ep):
    """The cluster accepts membership changes; members a test leaves behind
    (when it fails halfway) are removed afterwards."""
    original = {m["ID"] for m in members(ep)}
    probe = add_learner_when_healthy(ep, url(free_port()))
    etcdctl_ok(ep + ["member", "remove", "%x" % probe])
    yield
    for m in members(ep):
        if m["ID"] not in original:
            etcdctl_ok(ep + ["member", "remove", "%x" % m["ID"]])


# ---- normalizing a member that each tool added on its own


def mask_ports(out, ports):
    """`ports` maps each port the new member uses to its placeholder."""
    for port, name in ports.items():
        out = out.replace(b":%d" % port, b":" + name)
    return out


def mask_new_member(out, new_id, ports):
    out = re.sub(rb"(?<![0-9a-f])%x(?![0-9a-f])" % new_id, b"NEWID", out)
    # "Member %16x added": the padding follows the id's length.
    out = re.sub(rb"Member +NEWID ", b"Member NEWID ", out)
    out = re.sub(rb"(?<!\d)%d(?!\d)" % new_id, b"NEWID", out)
    return mask_ports(out, ports)


def sort_simple(out):
    """Member rows sorted where they stand; ETCD_INITIAL_CLUSTER's entries
    sorted."""
    lines = out.split(b"\n")
    rows = sorted(line for line in lines if re.match(rb"^\S+, (un)?started, ", line))
    row_iter = iter(rows)
    lines = [next(row_iter) if re.match(rb"^\S+, (un)?started, ", line) else line
             for line in lines]
    for i, line in enumerate(lines):
        m = re.match(rb'^ETCD_INITIAL_CLUSTER="(.*)"$', line)
        if m:
            lines[i] = b'ETCD_INITIAL_CLUSTER="%s"' % b",".join(sorted(m.group(1).split(b",")))
    return b"\n".join(lines)


def sort_json(out):
    """The "members" array (always the last field) sorted; members are
    objects without nested objects."""
    m = re.search(rb'"members":\[(.*)\]\}$', out.rstrip(b"\n"))
    if not m:
        return out
    objects = sorted(re.findall(rb"\{[^{}]*\}", m.group(1)))
    return out[:m.start(1)] + b",".join(objects) + out[m.end(1):]


def sort_fields(out):
    """The header lines, then the member blocks sorted."""
    lines = out.split(b"\n")
    blocks = b"\n".join(lines[4:]).split(b"\n\n")
    return b"\n".join(lines[:4]) + b"\n" + b"\n\n".join(sorted(blocks))


def sort_table(out):
    """Padding collapsed (it follows the new id's length), then rows sorted."""
    lines = collapse_padding(out).split(b"\n")
    return b"\n".join(lines[:3] + sorted(lines[3:-2]) + lines[-2:])


def pb_fields(data):
    """A protobuf message's fields as [(number, int or bytes)] (varint and
    length-delimited wire types, which is all these responses use)."""
    fields, i = [], 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(data):
        key = varint()
        if key & 7 == 0:
            fields.append((key >> 3, varint()))
        elif key & 7 == 2:
            n = varint()
            fields.append((key >> 3, data[i:i + n]))
            i += n
        else:
            raise AssertionError("unexpected wire type in %r" % data)
    return fields


def sort_protobuf(out, new_id, ports):
    """The response decoded: the header (field 1) as is, every other
    length-delimited field a Member with the new id and port masked; repeated
    members sorted."""
    decoded = []
    for number, value in pb_fields(out):
        if number == 1 or not isinstance(value, bytes):
            decoded.append((number, value))
            continue
        member = [(n, "NEWID" if n == 1 and v == new_id else
                   mask_ports(v, ports) if isinstance(v, bytes) else v)
                  for n, v in pb_fields(value)]
        decoded.append((number, member))
    singles = [f for f in decoded if sum(1 for g in decoded if g[0] == f[0]) == 1]
    repeated = sorted((f for f in decoded if f not in singles), key=repr)
    return repr(singles + repeated).encode()


def normalize_new_member(r, fmt, new_id, ports):
    out = r.out
    if fmt == "protobuf" and r.code == 0:
        out = sort_protobuf(out, new_id, ports)
    else:
        out = mask_new_member(out, new_id, ports)
        out = {"simple": sort_simple, "json": sort_json, "fields": sort_fields,
               "table": sort_table}[fmt](out) if out else out
    return Run(r.code, out, mask_new_member(r.err, new_id, ports))


# ---- read-only commands


@pytest.mark.parametrize("fmt", FORMATS)
def test_member_list(cluster, ep, fmt):
    assert_same(ep + ["-w", fmt, "member", "list"])
    # Each member lists the same members; the header names the one asked.
    assert_same(["--endpoints", cluster.members[2].endpoint, "-w", fmt, "member", "list"])


RAFT_INDEXES = [(re.compile(rb'"(raftIndex|raftAppliedIndex)":\d+'), rb'"\1":I'),
                (re.compile(rb'"(RaftIndex|RaftAppliedIndex)" : \d+'), rb'"\1" : I'),
                # simple and table rows: "..., <term>, <index>, <applied index>, <errors>"
                (re.compile(rb"^(.*(?:, |\| +)\d+(?:, | +\| +))\d+((?:, | +\| +))\d+"
                            rb"((?:, | +\|).*)$", re.M), rb"\1I\2I\3")]


def without_sizes_and_indexes(r):
    """Backend sizes as in kvctl_compare; raft indexes too, since the leader
    appends entries of its own (etcd sets the cluster version a few seconds
    after it starts)."""
    r = without_db_sizes(r)
    out = r.out
    for pattern, replacement in RAFT_INDEXES:
        out = pattern.sub(replacement, out)
    return Run(r.code, collapse_padding(out), r.err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_endpoint_status(ep, all_eps, fmt):
    assert_same(ep + ["-w", fmt, "endpoint", "status", "--cluster"],
                normalize=without_sizes_and_indexes)
    assert_same(all_eps + ["-w", fmt, "endpoint", "status"], normalize=without_sizes_and_indexes)


def sorted_health(r):
    """Durations masked, records in a fixed order."""
    r = without_durations(r)
    if r.out.startswith(b"["):
        out = b"[" + b",".join(sorted(re.findall(rb"\{[^{}]*\}", r.out))) + b"]\n"
    elif r.out.startswith(b"+"):
        lines = r.out.split(b"\n")
        out = b"\n".join(lines[:3] + sorted(lines[3:-2]) + lines[-2:])
    else:
        out = b"\n\n".join(sorted(r.out.split(b"\n\n")))
    return Run(r.code, out, b"\n".join(sorted(r.err.split(b"\n"))))


@pytest.mark.parametrize("fmt", FORMATS)
def test_endpoint_health(ep, all_eps, fmt):
    assert_same(ep + ["-w", fmt, "endpoint", "health", "--cluster"], normalize=sorted_health)
    assert_same(all_eps + ["-w", fmt, "endpoint", "health"], normalize=sorted_health)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", [["--cluster"], [], ["--cluster", "--rev", "2"],
                                  ["--rev=0x3"]], ids=" ".join)
def test_endpoint_hashkv(ep, all_eps, fmt, args):
    endpoints = ep if "--cluster" in args else all_eps
    assert_same(endpoints + ["-w", fmt, "endpoint", "hashkv"] + args)


def test_endpoint_hashkv_errors(ep, all_eps):
    assert_same(all_eps + ["endpoint", "hashkv", "--rev", "100"])
    assert_same(ep + ["-w", "json", "endpoint", "hashkv", "--cluster", "--rev", "100"])
    assert_same(ep + ["endpoint", "hashkv", "--rev", "x"], normalize=first_error_line)
    dead = "127.0.0.1:%d" % free_port()
    assert_same(["--endpoints", dead + "," + ep[1], "--command-timeout", "1s", "endpoint",
                 "hashkv"])


def test_endpoint_hashkv_after_compaction(ep, all_eps):
    etcdctl_ok(ep + ["compaction", "3"])
    assert_same(all_eps + ["-w", "json", "endpoint", "hashkv"])
    assert_same(all_eps + ["endpoint", "hashkv", "--rev", "2"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", [[], ["--cluster"]], ids=" ".join)
def test_defrag(ep, all_eps, fmt, args):
    endpoints = ep if "--cluster" in args else all_eps
    assert_same(endpoints + ["-w", fmt, "defrag"] + args)


def test_defrag_with_a_dead_endpoint_fails():
    dead = "127.0.0.1:%d" % free_port()
    assert_same(["--endpoints", dead, "--dial-timeout", "300ms", "--command-timeout", "1s",
                 "defrag"])


UNREACHABLE = [["defrag", "--cluster"], ["endpoint", "status", "--cluster"], ["endpoint", "health", "--cluster"],
               ["endpoint", "hashkv"], ["member", "add", "a", "--peer-urls", "foo"],
               ["member", "remove", "1"]]


@pytest.mark.parametrize("cmd", UNREACHABLE, ids=" ".join)
def test_unreachable_endpoint(cmd):
    dead = "127.0.0.1:%d" % free_port()
    assert_same(["--endpoints", dead, "--dial-timeout", "300ms", "--command-timeout", "1s"] + cmd)


# ---- membership: argument and server errors (nothing changes)

MEMBER_ARG_ERRORS = [
    ["member", "add"],
    ["member", "add", "a", "b"],
    ["member", "add", "a", "http://x:1", "HTTPS://y"],
    ["member", "add", "n"],
    ["member", "add", "n", "--peer-urls", "foo"],
    ["member", "add", "n", "--peer-urls", "http://foo"],
    ["member", "add", "n", "--peer-urls", "http://foo:1/path"],
    ["member", "add", "n", "--peer-urls", "http://a:1,,http://b:2"],
    ["member", "add", "n", "--peer-urls", ":::"],
    ["member", "add", "n", "--peer-urls", "http://[::1"],
    ["member", "add", "n", "--peer-urls", "http://a b:1"],
    ["member", "add", "n", "--peer-urls", "http://a\x01:1"],
    ["member", "add", "n", "--peer-urls", "http://%zz:1"],
    ["member", "add", "n", "--peer-urls", "http://a%41:1"],
    ["member", "add", "n", "--peer-urls", "http://a:x"],
    ["member", "add", "n", "--peer-urls", "http://u^@a:1"],
    ["member", "add", "n", "--peer-urls", "http:a"],
    ["member", "add", "n", "--peer-urls", "http://a:1#%zz"],
    ["member", "add", "n", "--peer-urls", "unix://a"],
    ["member", "add", "n", "--peer-urls", "http://[fe80::1%25en0]:1/p"],
    ["-w", "yaml", "member", "add", "n", "--peer-urls", "foo"],
    ["member", "remove"],
    ["member", "remove", "1", "2"],
    ["member", "remove", "zz"],
    ["member", "update", "12"],
    ["member", "update", "zz", "--peer-urls", "foo"],
    ["member", "update", "12", "--peer-urls", "foo"],
    ["member", "promote"],
    ["member", "promote", "0x12"],
    ["member", "promote", "12345678901234567890"],
]


@pytest.mark.parametrize("cmd", MEMBER_ARG_ERRORS, ids=" ".join)
def test_member_argument_errors(ep, cmd):
    assert_same(ep + cmd)


@pytest.mark.parametrize("cmd", [["member", "add", "n", "--peer-urls"],
                                 ["member", "add", "n", "--learner=maybe", "--peer-urls", "foo"],
                                 ["member", "add", "n", "--learner=T", "--peer-urls", "foo"],
                                 ["member", "promote", "1", "--bogus"],
                                 ["move-leader", "--bogus", "1"]], ids=" ".join)
def test_member_parse_errors(ep, cmd):
    assert_same(ep + cmd, normalize=first_error_line)


def test_member_server_errors(cluster, ep):
    assert_same(ep + ["member", "remove", "1234"])
    assert_same(ep + ["member", "update", "1234", "--peer-urls", "http://127.0.0.1:1"])
    assert_same(ep + ["member", "promote", "1234"])
    voter = "%x" % members(ep)[0]["ID"]
    assert_same(ep + ["member", "promote", voter])
    taken = members(ep)[1]["peerURLs"][0]
    assert_same(ep + ["member", "update", voter, "--peer-urls", taken])


# ---- membership changes: each tool adds its own member


def assert_steps_same(want, got):
    for i, (w, g) in enumerate(zip(want, got)):
        assert g == w, "step %d:\nkvctl:   %r\netcdctl: %r" % (i, g, w)


def tool_runs(tool, make_steps):
    """Runs `make_steps(tool)`, which returns the runs to compare, the new
    member's id and its ports (port -> placeholder), and normalizes them."""
    runs, new_id, ports = make_steps(tool)
    return [normalize_new_member(r, fmt, new_id, ports) for r, fmt in runs]


@pytest.mark.parametrize("fmt", FORMATS)
def test_learner_add_update_remove(ep, reconfigurable, fmt):
    """An unstarted learner: added, listed, updated, removed. fields and
    table print no membership change: each command fails after the change."""
    def steps(tool):
        port, new_port = free_port(), free_port()
        w = ep + ["-w", fmt]
        add = run(tool, w + ["member", "add", "newbie", "--learner", "--peer-urls", url(port)])
        new_id = member_id(ep, url(port))
        listed = run(tool, w + ["member", "list"])
        update = run(tool, w + ["member", "update", "%x" % new_id, "--peer-urls",
                                url(new_port)])
        listed_after = run(tool, w + ["member", "list"])
        remove = run(tool, w + ["member", "remove", "%x" % new_id])
        runs = [(add, fmt), (listed, fmt), (update, fmt), (listed_after, fmt), (remove, fmt)]
        return runs, new_id, {port: b"PORT", new_port: b"PORT2"}

    want, got = (tool_runs(tool, steps) for tool in TOOLS)
    assert_steps_same(want, got)


def test_learner_limits(ep, all_eps, reconfigurable):
    """One unstarted learner (added by etcdctl) cannot be promoted or lead,
    and there is no room for a second."""
    learner = add_learner_when_healthy(ep, url(free_port()))
    try:
        assert_same(ep + ["member", "promote", "%x" % learner])
        assert_same(ep + ["member", "add", "second", "--learner", "--peer-urls",
                          url(free_port())])
        assert_same(all_eps + ["move-leader", "%x" % learner])
        for fmt in FORMATS:
            assert_same(ep + ["-w", fmt, "member", "list"])
    finally:
        etcdctl_ok(ep + ["member", "remove", "%x" % learner])


def test_unstarted_voter_blocks_additions(ep, reconfigurable):
    voter_url = url(free_port())
    etcdctl_ok(ep + ["member", "add", "absent", "--peer-urls", voter_url])
    voter = member_id(ep, voter_url)
    try:
        assert_same(ep + ["member", "add", "another", "--peer-urls", url(free_port())])
        assert_same(ep + ["member", "add", "another", "--learner", "--peer-urls",
                          url(free_port())])
        assert_same(ep + ["member", "promote", "%x" % voter])
        assert_same(ep + ["-w", "table", "member", "list"])
    finally:
        etcdctl_ok(ep + ["member", "remove", "%x" % voter])


# etcdctl 3.4 promotes, then crashes printing the result in any format but
# simple (its json, protobuf, fields and table printers lack MemberPromote).
# kvctl prints the response in json and protobuf, like the other membership
# responses, and fails with "... not supported as output format" in fields
# and table.
ETCDCTL_PROMOTE_PANIC = b"panic: runtime error: invalid memory address or nil pointer dereference"


def wait_promoted(tool, args):
    """Promotes as soon as the learner is in sync with the leader."""
    deadline = time.monotonic() + POLL_DEADLINE
    while True:
        r = run(tool, args)
        if r.code == 0 or ETCDCTL_PROMOTE_PANIC in r.err or time.monotonic() > deadline:
            return r
        assert r.err == NOT_IN_SYNC, r
        time.sleep(0.1)  # a pause between polls, not a wait for the event


def remove_if_present(ep, member):
    if any(m["ID"] == member for m in members(ep)):
        etcdctl_ok(ep + ["member", "remove", "%x" % member])


@pytest.mark.parametrize("fmt", ["simple", "json", "protobuf"])
def test_running_learner_promoted_updated_removed(tmp_path, ep, reconfigurable, fmt):
    """A learner that runs: added, started with the initial cluster that
    member add printed, promoted once in sync, updated (same URL), removed."""
    def steps(tool):
        port, client_port = free_port(), free_port()
        w = ep + ["-w", fmt]
        add = run(tool, w + ["member", "add", "learner", "--learner", "--peer-urls", url(port)])
        assert add.code == 0, add
        new_id = member_id(ep, url(port))
        initial = ",".join("%s=%s" % (m.get("name") or "learner", u)
                           for m in members(ep) for u in m["peerURLs"])
        if fmt == "simple":
            printed = re.search(rb'ETCD_INITIAL_CLUSTER="(.*)"', add.out).group(1)
            assert sorted(printed.split(b",")) == sorted(initial.encode().split(b","))
        (tmp_path / tool).mkdir()
        learner = Server(tmp_path / tool, name="learner", client_port=client_port,
                         peer_port=port, initial_cluster=initial,
                         extra_args=["--initial-cluster-state", "existing"])
        try:
            learner.start()
            promote = wait_promoted(tool, w + ["member", "promote", "%x" % new_id])
            listed = run(tool, w + ["member", "list"])
            update = run(tool, w + ["member", "update", "%x" % new_id, "--peer-urls", url(port)])
            remove = run(tool, w + ["member", "remove", "%x" % new_id])
        finally:
            remove_if_present(ep, new_id)
            learner.kill9()
        if fmt != "simple":
            if tool == "etcdctl":
                assert promote.code == 2 and ETCDCTL_PROMOTE_PANIC in promote.err, promote
            else:
                # The promote response lists the members as member list does.
                assert promote == listed, "promote: %r\nlist: %r" % (promote, listed)
            promote = Run(0, b"promoted", b"")
        runs = [(add, fmt), (promote, "simple"), (listed, fmt), (update, fmt), (remove, fmt)]
        return runs, new_id, {port: b"PORT", client_port: b"CPORT"}

    want, got = (tool_runs(tool, steps) for tool in TOOLS)
    assert_steps_same(want, got)


# ---- move-leader


@pytest.mark.parametrize("fmt", FORMATS)
def test_move_leader(cluster, all_eps, fmt):
    """Each tool moves leadership from the same leader to the same follower;
    etcdctl moves it back after each."""
    leader, followers = leadership(cluster)
    move = all_eps + ["-w", fmt, "move-leader", "%x" % followers[0]]
    back = all_eps + ["move-leader", "%x" % leader]
    runs = []
    for tool in TOOLS:
        runs.append(run(tool, move))
        assert leadership(cluster)[0] == followers[0]
        etcdctl_ok(back)
    assert runs[1] == runs[0]


def test_move_leader_errors(cluster, all_eps):
    leader, followers = leadership(cluster)
    endpoint = {i: e for i, (e, _) in statuses(cluster).items()}
    assert_same(all_eps + ["move-leader", "%x" % leader])  # to itself
    assert_same(all_eps + ["move-leader", "1234"])
    assert_same(all_eps + ["move-leader", "zz"])
    assert_same(all_eps + ["move-leader"])
    assert_same(all_eps + ["move-leader", "1", "2"])
    assert_same(["--endpoints", ",".join(endpoint[f] for f in followers), "move-leader",
                 "%x" % followers[0]])
    dead = "127.0.0.1:%d" % free_port()
    assert_same(["--endpoints", dead + "," + endpoint[leader], "--command-timeout", "1s",
                 "move-leader", "%x" % followers[0]])
    assert_same(["--endpoints", dead, "--dial-timeout", "300ms", "--command-timeout", "1s",
                 "move-leader", "%x" % followers[0]])
    assert leadership(cluster)[0] == leader
