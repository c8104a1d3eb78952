"""kvctl's user, role and auth commands print what etcdctl 3.4 prints, byte for
byte, and kvctl works against a cluster with authentication on.

Every sequence runs on two fresh servers started one after the other on the
same ports (same member and cluster ids, same revisions), one driven by
etcdctl (ETCDCTL_API=3) and one by kvctl, and each step's stdout, stderr and
exit code must be identical: users and roles made, permissions granted,
`auth enable` (which gives user root the root role), a user that may write
/app/ and nothing else, wrong passwords, revoking, `user passwd`, deleting,
`auth disable`, and the errors on the way. Every sequence runs in every
output format. Argument errors run against one shared server.

The server is $ETCDD_BIN (tests/support/etcdd_harness.py, default etcdd);
against etcd itself:

    ETCDD_BIN=/usr/bin/etcd /usr/bin/python3 -m pytest -q \\
        tests/kvctl/test_kvctl_auth_matches_etcdctl.py

Normalized, besides what kvctl_compare.py normalizes:
  - etcdctl turns the terminal's echo off with `stty -echo`, which fails on a
    pipe and writes "stty: 'standard input': Inappropriate ioctl for device"
    to stderr; etcdctl reads the password from the pipe all the same, and so
    does kvctl, without the stty lines. They are dropped.

`auth status` is etcdctl 3.5's: etcdctl 3.4 has no such command, so kvctl's
output is checked on its own (against etcd 3.4, which lacks the RPC, it is
grpc's Unimplemented error, as etcdctl 3.5 prints it).
"""

import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
sys.path.insert(0, HERE)
pytest.register_assert_rewrite("kvctl_compare")

from etcdd_harness import Server, free_port, is_real_etcd  # noqa: E402
from kvctl_compare import FORMATS, Run, first_error_line, run  # noqa: E402

ROOT = ["--user", "root:pw"]
APP = ["--user", "app:pw"]
STTY = re.compile(rb"^stty: .*\n", re.M)


def without_stty(r):
    return Run(r.code, r.out, STTY.sub(b"", r.err))


def run_sequence(tool, tmpdir, client_port, peer_port, steps):
    with Server(tmpdir, client_port=client_port, peer_port=peer_port) as s:
        return [without_stty(run(tool, ["--endpoints", s.endpoint] + args, input=stdin))
                for args, stdin in steps]


def assert_sequence_matches(tmp_path, steps):
    client_port, peer_port = free_port(), free_port()
    want = run_sequence("etcdctl", tmp_path / "etcdctl", client_port, peer_port, steps)
    got = run_sequence("kvctl", tmp_path / "kvctl", client_port, peer_port, steps)
    for (args, stdin), w, g in zip(steps, want, got):
        assert g == w, "kvctl %s (stdin %r)" % (" ".join(args), stdin)
    return got


# ---- the RBAC sequence: users, roles, auth enable, access, revoking, disable


def rbac_sequence(fmt):
    """(args, stdin) steps; each step's output depends on the ones before."""
    w = ["-w", fmt]
    return [
        (w + ["user", "add", "root:pw"], None),
        (w + ["role", "add", "app-admin"], None),
        (w + ["role", "grant-permission", "app-admin", "readwrite", "--prefix=true", "/app/"],
         None),
        (w + ["role", "add", "reader"], None),
        (w + ["role", "grant-permission", "reader", "read", "/shared"], None),
        (w + ["user", "add", "app:pw"], None),
        (w + ["user", "grant-role", "app", "app-admin"], None),
        (w + ["user", "grant-role", "app", "reader"], None),
        (w + ["role", "get", "app-admin"], None),
        (w + ["user", "get", "app"], None),
        (w + ["user", "get", "app", "--detail"], None),
        (w + ["user", "list"], None),
        (w + ["role", "list"], None),
        (w + ["user", "add", "app:pw"], None),             # user name already exists
        (w + ["role", "add", "reader"], None),             # role name already exists
        (w + ["role", "get", "nope"], None),               # role name not found
        (w + ["user", "get", "nope"], None),               # user name not found
        (w + ["user", "grant-role", "app", "nope"], None),
        (w + ["user", "grant-role", "nope", "reader"], None),
        (w + ["auth", "enable"], None),                    # makes role root and grants it
        (w + APP + ["put", "/app/x", "1"], None),
        (w + APP + ["put", "/other", "1"], None),          # permission denied
        (w + APP + ["get", "/app/x"], None),
        (w + APP + ["get", "/shared"], None),
        (w + APP + ["user", "list"], None),                # not root: permission denied
        (w + APP + ["user", "get", "app"], None),          # its own user
        (w + APP + ["role", "get", "reader"], None),       # a role it has
        (w + ["user", "list"], None),                      # no token: user name is empty
        (w + ["--user", "root:wrong", "user", "list"], None),   # authentication failed
        (w + ["--user", "nobody:pw", "get", "/app/x"], None),
        (w + ["--user", "root", "--password", "pw", "role", "list"], None),
        (w + ["--user", "root", "user", "list"], "pw\n"),  # "Password: " prompt, piped
        (w + ROOT + ["user", "get", "root", "--detail"], None),
        (w + ROOT + ["user", "get", "app", "--detail"], None),
        (w + ROOT + ["role", "get", "root"], None),
        (w + ROOT + ["user", "list"], None),
        (w + ROOT + ["role", "list"], None),
        (w + ROOT + ["auth", "enable"], None),             # already on
        (w + ROOT + ["role", "revoke-permission", "app-admin", "/app/", "--prefix=true"], None),
        (w + ROOT + ["role", "revoke-permission", "app-admin", "/app/", "--prefix=true"], None),
        (w + APP + ["put", "/app/y", "2"], None),          # denied now
        (w + ROOT + ["user", "revoke-role", "app", "app-admin"], None),
        (w + ROOT + ["user", "revoke-role", "app", "app-admin"], None),  # not granted
        (w + ROOT + ["user", "passwd", "app", "--interactive=false"], "newpw\n"),
        (w + APP + ["get", "/shared"], None),              # the old password fails
        (w + ["--user", "app:newpw", "get", "/shared"], None),
        (w + ROOT + ["role", "delete", "root"], None),     # invalid auth management
        (w + ROOT + ["user", "revoke-role", "root", "root"], None),
        (w + ROOT + ["user", "delete", "root"], None),
        (w + ROOT + ["user", "delete", "app"], None),
        (w + ROOT + ["user", "delete", "app"], None),      # user name not found
        (w + ROOT + ["role", "delete", "app-admin"], None),
        (w + ROOT + ["role", "delete", "app-admin"], None),  # role name not found
        (w + APP + ["auth", "disable"], None),             # the user is gone
        (w + ROOT + ["auth", "disable"], None),
        (w + ["auth", "disable"], None),                   # already off
        (w + ["--user", "root:wrong", "get", "/app/x"], None),  # auth off: no token needed
        (w + ["user", "list"], None),
        (w + ["role", "list"], None),
        (w + ["user", "delete", "root"], None),
        (w + ["auth", "enable"], None),                    # root user does not exist
        (w + ["put", "/after", "1"], None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_rbac_sequence(tmp_path, fmt):
    got = assert_sequence_matches(tmp_path, rbac_sequence(fmt))
    if fmt == "simple":  # the comparison is not vacuous
        outs = [r.out for r in got]
        assert b"Authentication Enabled\n" in outs
        assert b"OK\n" in outs
        assert Run(1, b"", b"Error: etcdserver: permission denied\n") in got


# ---- permissions: keys, ranges, prefixes, open ends, the whole key space


def permission_sequence(fmt):
    w = ["-w", fmt]
    grant = w + ["role", "grant-permission", "r"]
    revoke = w + ["role", "revoke-permission", "r"]
    return [
        (w + ["role", "add", "r"], None),
        (grant + ["read", "a", "z"], None),
        (grant + ["write", "k"], None),
        (grant + ["Write", "--from-key", "f"], None),
        (grant + ["READ", "--prefix", ""], None),          # every key
        (grant + ["readwrite", ""], None),                 # the empty key
        (grant + ["write", "--prefix", "b"], None),
        (grant + ["read", "b", "c"], None),                # the same range: type replaced
        (grant + ["readwrite", "--prefix", "q\"\u00e9\t<"], None),
        (grant + ["read", "m", "n", "extra"], None),       # words after endkey ignored
        (w + ["role", "get", "r"], None),
        (w + ["--hex", "role", "get", "r"], None),
        (revoke + ["a", "z"], None),
        (revoke + ["k"], None),
        (revoke + ["f", "--from-key"], None),
        (revoke + ["", "--prefix"], None),
        (revoke + [""], None),
        (revoke + ["b", "--prefix"], None),
        (revoke + ["nope"], None),                         # not granted
        (revoke + ["q\"\u00e9\t<", "--prefix=true"], None),
        (w + ["role", "get", "r"], None),
        (w + ["role", "grant-permission", "nope", "read", "k"], None),
        (w + ["role", "revoke-permission", "nope", "k"], None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_permission_sequence(tmp_path, fmt):
    assert_sequence_matches(tmp_path, permission_sequence(fmt))


# ---- passwords: prompts, --interactive=false, flags


def password_sequence(fmt):
    w = ["-w", fmt]
    return [
        (w + ["user", "add", "u1"], "pw1\npw1\n"),
        (w + ["user", "add", "u2"], "pw\nother\n"),        # given passwords are different
        (w + ["user", "add", "u3"], "\n"),                 # empty password
        (w + ["user", "add", "u4"], ""),                   # end of input: empty password
        (w + ["user", "add", "u5"], "  spaced  \r\n  spaced\n"),
        (w + ["user", "add", "u6", "--interactive=false"], "  secret more\n"),
        (w + ["user", "add", "u7", "--interactive=false"], ""),
        (w + ["user", "add", "u8", "--interactive=false"], "\nlater\n"),
        (w + ["user", "add", "u9", "--new-user-password", "x:y"], None),
        (w + ["user", "add", "u10:p", "--new-user-password=q"], None),
        (w + ["user", "add", "u11", "--no-password"], None),
        (w + ["user", "add", "u12:p", "--no-password"], None),
        (w + ["user", "add", "u13:"], None),
        (w + ["user", "add", "u14:a:b"], None),
        (w + ["user", "passwd", "u1"], "n\nn\n"),
        (w + ["user", "passwd", "u1"], "a\nb\n"),
        (w + ["user", "passwd", "u1", "--interactive=false"], "word\n"),
        (w + ["user", "passwd", "nope", "--interactive=false"], "word\n"),
        (w + ["user", "list"], None),
        (w + ["user", "add", "root:pw"], None),
        (w + ["auth", "enable"], None),
        (w + ["--user", "u1:word", "get", "a"], None),     # no role: permission denied
        (w + ["--user", "u5:spaced", "get", "a"], None),
        (w + ["--user", "u6:secret", "get", "a"], None),
        (w + ["--user", "u9:x:y", "get", "a"], None),
        (w + ["--user", "u14:a:b", "get", "a"], None),
        (w + ["--user", "u11:", "get", "a"], None),        # no password: no token
        (w + ROOT + ["auth", "disable"], None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_password_sequence(tmp_path, fmt):
    assert_sequence_matches(tmp_path, password_sequence(fmt))


# ---- argument errors, on one shared server


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("shared")) as s:
        yield s.endpoint


ARG_ERRORS = [
    ["user", "add"],
    ["user", "add", "a", "b"],
    ["user", "add", ":pw"],
    ["user", "get"],
    ["user", "get", "a", "b"],
    ["user", "list", "x"],
    ["user", "delete"],
    ["user", "passwd"],
    ["user", "grant-role", "a"],
    ["user", "revoke-role", "a"],
    ["role", "add"],
    ["role", "get"],
    ["role", "delete", "a", "b"],
    ["role", "list", "x"],
    ["role", "grant-permission", "r", "read"],
    ["role", "grant-permission", "r", "rw", "k"],
    ["role", "grant-permission", "r", "read", "k", "--prefix", "--from-key"],
    ["role", "grant-permission", "r", "read", "", "--prefix", "--from-key"],
    ["role", "grant-permission", "r", "read", "k", "z", "--prefix"],
    ["role", "grant-permission", "r", "read", "k", "z", "--from-key"],
    ["role", "revoke-permission", "r"],
    ["role", "revoke-permission", "r", "k", "z", "--prefix"],
    ["auth", "enable", "x"],
    ["auth", "disable", "x"],
    ["-w", "yaml", "user", "list"],
]


@pytest.mark.parametrize("cmd", ARG_ERRORS, ids=" ".join)
def test_argument_errors(endpoint, cmd):
    want, got = (without_stty(run(tool, ["--endpoints", endpoint] + cmd))
                 for tool in ("etcdctl", "kvctl"))
    assert got == want


PARSE_ERRORS = [
    ["user", "add", "--bogus", "a:b"],
    ["role", "list", "--prefix"],
    ["user", "get", "a", "--interactive"],
]


@pytest.mark.parametrize("cmd", PARSE_ERRORS, ids=" ".join)
def test_parse_errors(endpoint, cmd):
    want, got = (first_error_line(run(tool, ["--endpoints", endpoint] + cmd))
                 for tool in ("etcdctl", "kvctl"))
    assert got == want


def test_command_prefixes(endpoint):
    want, got = (run(tool, ["--endpoints", endpoint, "us", "li"]) for tool in ("etcdctl", "kvctl"))
    assert got == want and got.code == 0


# ---- auth status (etcdctl 3.5)


def test_auth_status(tmp_path):
    with Server(tmp_path) as s:
        ep = ["--endpoints", s.endpoint]
        if is_real_etcd():
            # etcd 3.4 has no AuthStatus RPC; this is what etcdctl 3.5 prints.
            r = run("kvctl", ep + ["auth", "status"])
            assert r == Run(1, b"", b"Error: rpc error: code = Unimplemented desc = unknown "
                                    b"method AuthStatus for service etcdserverpb.Auth\n")
            return
        r = run("kvctl", ep + ["auth", "status"])
        assert r == Run(0, b"Authentication Status: false\nAuthRevision: 1\n", b"")
        for args in (["user", "add", "root:pw"], ["auth", "enable"]):
            assert run("kvctl", ep + args).code == 0
        r = run("kvctl", ep + ROOT + ["auth", "status"])
        assert re.fullmatch(rb"Authentication Status: true\nAuthRevision: [1-9]\d*\n", r.out)
        r = run("kvctl", ep + ROOT + ["-w", "json", "auth", "status"])
        assert re.fullmatch(rb'\{"header":\{.*\},"enabled":true,"authRevision":[1-9]\d*\}\n',
                            r.out), r.out
        for fmt in ("fields", "table"):
            r = run("kvctl", ep + ROOT + ["-w", fmt, "auth", "status"])
            assert r == Run(4, b"", b"Error: %s not supported as output format\n" % fmt.encode())
        assert run("kvctl", ep + ["auth", "status", "x"]) == Run(
            128, b"", b"Error: auth status command does not accept any arguments\n")
