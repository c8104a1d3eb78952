"""kvctl prints what etcdctl 3.4 prints, byte for byte.

Every case runs the same command line through the real etcdctl (ETCDCTL_API=3)
and through kvctl, and asserts identical stdout, stderr and exit code:

  - read-only commands run against one shared, seeded server;
  - write sequences run on two fresh servers started one after the other on
    the same ports (so member id, cluster id, revisions and raft indexes are
    the same), one driven by etcdctl and one by kvctl.

The server is $ETCDD_BIN (tests/support/etcdd_harness.py); with
ETCDD_BIN=/usr/bin/etcd the suite checks kvctl against real etcd.

Known, deliberate differences are normalized, never hidden:
  - etcdctl's Go client logs a JSON "retrying of unary invoker failed" line
    on stderr before server errors; kvctl does not. Those lines are dropped.
  - endpoint health reports measured durations; they are replaced by "D".
  - endpoint status reports backend file sizes, which depend on when the
    server last committed its backend, not on the client; they are masked.
  - for command lines that do not parse, etcdctl prints its usage and the
    error twice; kvctl prints the error once. Only the exit code and the first
    stderr line are compared, with the program name normalized.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
sys.path.insert(0, HERE)
pytest.register_assert_rewrite("kvctl_compare")

from etcdd_harness import Server, free_port  # noqa: E402
from kvctl_compare import (CAPNSLOG_PREFIX, FORMATS, assert_same, both,  # noqa: E402
                           first_error_line, run, without_db_sizes, without_durations)


# ---- the shared, read-only server

SEED = [("a", "3"), ("b", "1"), ("c", "2"), ("foo", "x"), ("foo/bar", "y"), ("fop", "z"),
        ("b", "9"), ("uni", "h\u00e9llo \u2713 \"q\" <b>&\t"), ("nl", None)]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("shared")) as s:
        for key, value in SEED:
            args = ["--endpoints", s.endpoint, "put", key] + ([value] if value else [])
            r = run("etcdctl", args, input=None if value else "line one\nline two\n")
            assert r.code == 0, r.err
        # Bytes that are not UTF-8, in both the key and the value.
        r = run("etcdctl", ["--endpoints", s.endpoint, "put", "bin\x01\udcff"],
                input=b"\x00\xff\x80 \x7f")
        assert r.code == 0, r.err
        yield s.endpoint


GET_CASES = [
    ["get", "a"],
    ["get", "missing"],
    ["get", "foo", "--prefix"],
    ["get", "a", "foo"],
    ["get", "", "--prefix"],
    ["get", "b", "--from-key"],
    ["get", "", "--from-key", "--keys-only"],
    ["get", "", "--prefix", "--limit", "2"],
    ["get", "b", "--rev", "3"],
    ["get", "a", "--consistency", "s"],
    ["get", "uni"],
    ["get", "nl"],
    ["get", "", "--prefix", "--hex"],
    ["get", "", "--prefix", "--print-value-only"],
    ["get", "", "--prefix", "--sort-by=value"],
    ["get", "fo", "--prefix", "--order=descend"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cmd", GET_CASES, ids=" ".join)
def test_get(endpoint, fmt, cmd):
    assert_same(["--endpoints", endpoint, "-w", fmt] + cmd)


@pytest.mark.parametrize("fmt", ["simple", "json"])
@pytest.mark.parametrize("order", ["ASCEND", "DESCEND", ""])
@pytest.mark.parametrize("target", ["CREATE", "KEY", "MODIFY", "VALUE", "VERSION"])
def test_get_sorted(endpoint, fmt, order, target):
    assert_same(["--endpoints", endpoint, "-w", fmt, "get", "", "--prefix",
                 "--sort-by", target, "--order", order])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cmd", [["member", "list"], ["endpoint", "status"],
                                 ["endpoint", "status", "--cluster"]], ids=" ".join)
def test_cluster_commands(endpoint, fmt, cmd):
    assert_same(["--endpoints", endpoint, "-w", fmt] + cmd, normalize=without_db_sizes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_endpoint_health(endpoint, fmt):
    assert_same(["--endpoints", endpoint, "-w", fmt, "endpoint", "health"],
                normalize=without_durations)


TXN_READS = [
    'value("a") = "3"\n\nget a\nget foo --prefix --keys-only\n\nget b\n\n',
    'value("a") = "nope"\n\nget a\n\nget b --rev 3\nget "f\\x6fo"\n\n',
    'ver("b") > "1"\nmod("b") < "100"\nc("b") != "0"\nversion("a") = "1"\n\n\nget c\n\n',
    '\n\n\n',
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("txn", TXN_READS)
def test_txn_reads(endpoint, fmt, txn):
    assert_same(["--endpoints", endpoint, "-w", fmt, "txn"], input=txn)


def test_txn_interactive_prompts(endpoint):
    assert_same(["--endpoints", endpoint, "txn", "-i"], input=TXN_READS[0])
    assert_same(["--endpoints", endpoint, "txn", "--interactive"], input=TXN_READS[1])


TXN_ERRORS = [
    'foo\n\n\n\n',                      # no "("
    'value("a")="x"\n\n\n\n',           # no space after ")"
    'value("a") ="x"\n\n\n\n',          # op swallows the value
    'value(a) = "x"\n\n\n\n',           # unquoted key
    'version("a") = "x"\n\n\n\n',       # not a number
    'bogus("a") = "x"\n\n\n\n',         # unknown target
    '\nfoo bar\n\n\n',                  # unknown request
    '\nget\n\n\n',                      # too few words
    '\nget a --prefix --from-key\n\n\n',
    '\nget "a\n\n\n',                   # unterminated quote: a bare word
    '\nget a\n',                        # input ends early
    '\nget a --bogus\n\n\n',            # usage, then the error
    '\nput a --bogus\n\n\n',
    '\ndel a --bogus\n\n\n',
    '\nget a --limit x\n\n\n',
    '\nget a --prefix=maybe\n\n\n',
    'value("a") = "3"\n\nget a\n\nget b',  # last line without newline
]


@pytest.mark.parametrize("txn", TXN_ERRORS)
def test_txn_errors(endpoint, txn):
    assert_same(["--endpoints", endpoint, "txn"], input=txn)


def test_txn_rejects_arguments(endpoint):
    assert_same(["--endpoints", endpoint, "txn", "extra"], input="\n\n\n")


def test_version_api_line():
    want, got = both(["version"])
    assert got.code == want.code == 0
    assert got.out.splitlines()[1] == want.out.splitlines()[1] == b"API version: 3.4"
    assert got.out.startswith(b"kvctl version: ")


ARG_ERRORS = [
    ["get"],
    ["get", "a", "--prefix", "--from-key"],
    ["get", "a", "b", "--prefix"],
    ["get", "a", "--consistency", "x"],
    ["get", "a", "--order", "up"],
    ["get", "a", "--sort-by", "size"],
    ["-w", "yaml", "get", "a"],
    ["-w", "table", "get", "a"],
    ["get", "a", "--print-value-only", "-w", "json"],
    ["get", "a", "--rev", "100000"],
    ["put"],
    ["put", "k", "v", "--lease", "zz"],
    ["put", "k", "--ignore-value", "v"],
    ["put", "k", "v", "--lease", "1234"],
    ["put", "--ignore-value", "no-such-key"],
    ["del"],
    ["del", "a", "b", "c"],
    ["del", "a", "--prefix", "--from-key"],
    ["compaction"],
    ["compaction", "abc"],
    ["compaction", "100000"],
    ["-w", "yaml", "member", "list"],
    ["-w", "protobuf", "endpoint", "status"],
    ["--cert", "", "get", "a"],
]


@pytest.mark.parametrize("cmd", ARG_ERRORS, ids=" ".join)
def test_errors(endpoint, cmd):
    assert_same(["--endpoints", endpoint] + cmd)


PARSE_ERRORS = [
    ["get", "a", "--limit", "abc"],
    ["get", "--bogus", "a"],
    ["get", "a", "-x"],
    ["get", "a", "--limit"],
    ["bogus"],
    ["--dial-timeout", "abc", "get", "a"],
]


@pytest.mark.parametrize("cmd", PARSE_ERRORS, ids=" ".join)
def test_parse_errors(endpoint, cmd):
    assert_same(["--endpoints", endpoint] + cmd, normalize=first_error_line)


def test_command_prefixes(endpoint):
    assert_same(["--endpoints", endpoint, "mem", "li"])
    assert_same(["--endpoints", endpoint, "g", "a"])


def test_keys_named_like_commands(endpoint):
    assert_same(["--endpoints", endpoint, "get", "member", "version"])
    assert_same(["--endpoints", endpoint, "get", "put", "--prefix"])


UNREACHABLE = [["get", "a"], ["member", "list"], ["endpoint", "status"],
               ["endpoint", "health"]]


@pytest.mark.parametrize("cmd", UNREACHABLE, ids=" ".join)
def test_unreachable_endpoint(cmd):
    dead = "127.0.0.1:%d" % free_port()
    assert_same(["--endpoints", dead, "--dial-timeout", "300ms", "--command-timeout", "1s"] + cmd,
                normalize=without_durations)


def test_health_with_one_dead_endpoint(endpoint):
    dead = "127.0.0.1:%d" % free_port()
    assert_same(["--endpoints", endpoint + "," + dead, "--dial-timeout", "300ms",
                 "--command-timeout", "1s", "endpoint", "health"], normalize=without_durations)


# ---- environment variables


def test_endpoints_from_etcdctl_env(endpoint):
    assert_same(["get", "a"], env={"ETCDCTL_ENDPOINTS": endpoint})
    assert_same(["get", "a"], env={"ETCDCTL_ENDPOINTS": endpoint, "ETCDCTL_WRITE_OUT": "json",
                                   "ETCDCTL_HEX": "true"})


def test_kvctl_env_wins():
    dead = "127.0.0.1:%d" % free_port()
    env = {"ETCDCTL_ENDPOINTS": dead, "ETCDCTL_COMMAND_TIMEOUT": "1s"}
    r = run("kvctl", ["get", "a"], env=env)
    assert r.code == 1 and r.err == b"Error: context deadline exceeded\n"


def test_kvctl_env_overrides_etcdctl_env(endpoint):
    dead = "127.0.0.1:%d" % free_port()
    r = run("kvctl", ["get", "a"], env={"KVCTL_ENDPOINTS": endpoint, "ETCDCTL_ENDPOINTS": dead})
    assert (r.code, r.out, r.err) == (0, b"a\n3\n", b"")


def test_unrecognized_env_warning(endpoint):
    env = {"ETCDCTL_ENDPOINTS": endpoint, "ETCDCTL_NO_SUCH_FLAG": "1"}
    assert_same(["get", "a"], env=env,
                normalize=lambda r: r._replace(err=CAPNSLOG_PREFIX.sub(b"", r.err)))


def test_env_shadowed_by_flag_is_an_error(endpoint):
    want, got = both(["--endpoints", endpoint, "get", "a"], env={"ETCDCTL_ENDPOINTS": endpoint})
    message = (b'conflicting environment variable "ETCDCTL_ENDPOINTS" is shadowed by '
               b"corresponding command-line flag")
    assert want.code == got.code == 1
    assert message in want.err and message in got.err
    assert got.out == want.out == b""


# ---- writes: the same sequence on two fresh servers


def write_sequence(fmt):
    """(args, stdin) steps; every step's output depends on the ones before."""
    w = ["-w", fmt]
    return [
        (w + ["put", "a", "1"], None),
        (w + ["put", "a", "2", "--prev-kv"], None),
        (w + ["put", "b", "x"], None),
        (w + ["put", "c", "y", "--prev-kv"], None),
        (w + ["put", "e"], "from stdin\n"),
        (w + ["put", "a", "--ignore-value", "--prev-kv"], None),
        (w + ["put", "a", "3", "--ignore-lease"], None),
        (w + ["put", "--", "-dash", "-value"], None),
        (w + ["put", "--ignore-value", "nokey"], None),
        (w + ["del", "missing"], None),
        (w + ["del", "b", "--prev-kv"], None),
        (w + ["del", "c", "e", "--prev-kv"], None),
        (w + ["txn"], 'value("a") = "3"\n\nput a 4 --prev-kv\nput t 1\ndel --prev-kv -- -dash\n'
                      "get a\n\nput never 1\n\n"),
        (w + ["txn"], 'value("a") = "3"\n\nput never 1\n\ndel t --prev-kv\nput u 2\n\n'),
        (w + ["compaction", "3"], None),
        (w + ["compaction", "3"], None),
        (w + ["get", "a", "--rev", "2"], None),
        (w + ["compaction", "5", "--physical"], None),
        (w + ["put", "p/1", "1"], None),
        (w + ["put", "p/2", "2"], None),
        (w + ["del", "p/", "--prefix", "--prev-kv"], None),
        (w + ["get", "", "--prefix"], None),
        (w + ["del", "", "--from-key", "--prev-kv"], None),
        (w + ["get", "", "--from-key"], None),
        (w + ["endpoint", "status"], None),
    ]


def run_sequence(tool, tmpdir, client_port, peer_port, steps):
    with Server(tmpdir, client_port=client_port, peer_port=peer_port) as s:
        return [run(tool, ["--endpoints", s.endpoint] + args, input=stdin)
                for args, stdin in steps]


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_sequence(tmp_path, fmt):
    client_port, peer_port = free_port(), free_port()
    steps = write_sequence(fmt)
    want = run_sequence("etcdctl", tmp_path / "etcdctl", client_port, peer_port, steps)
    got = run_sequence("kvctl", tmp_path / "kvctl", client_port, peer_port, steps)
    for (args, stdin), w, g in zip(steps, want, got):
        if "status" in args:
            w, g = without_db_sizes(w), without_db_sizes(g)
        assert g == w, "kvctl %s (stdin %r)" % (" ".join(args), stdin)
