"""Authentication and RBAC through the real etcdctl 3.4 and python3-etcd3.

The seeds' commands: a root user, an app-admin role confined to the /app/
prefix, a user with that role, `auth enable`; then that user can read and
write under /app/ (KV, txn, watch, lease) and nowhere else, root-only calls
are refused, permissions changes take effect at once. Outputs are etcd's,
byte for byte. Run against etcd itself with ETCDD_BIN=/usr/bin/etcd (the
test of passwords on disk is etcdd's own: etcd 3.4 writes them to its WAL).
"""

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest
from etcd3 import etcdrpc

from conftest import ETCDCTL, Etcdctl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

from etcd_rpc import wait_for_leader  # noqa: E402
from proto_stubs import ProtoStubs  # noqa: E402
from etcdd_harness import Cluster as MemberCluster  # noqa: E402
from etcdd_harness import REPO, Server, server_binary  # noqa: E402

IS_ETCD = os.path.basename(server_binary()) == "etcd"
KVCTL = os.path.join(REPO, "build", "cmd", "kvctl", "kvctl")
APP_PASSWORD = "S3cret-app-Passw0rd"
ROOT_PASSWORD = "r00t-Passw0rd-xyz"


def enable_rbac(etcdctl):
    """The seeds' sequence; returns nothing, asserts each line."""
    assert etcdctl.ok("user", "add", "root:" + ROOT_PASSWORD) == "User root created\n"
    assert etcdctl.ok("role", "add", "app-admin") == "Role app-admin created\n"
    assert etcdctl.ok("role", "grant-permission", "app-admin", "readwrite", "--prefix=true",
                      "/app/") == "Role app-admin updated\n"
    assert etcdctl.ok("user", "add", "app:" + APP_PASSWORD) == "User app created\n"
    assert etcdctl.ok("user", "grant-role", "app", "app-admin") == \
        "Role app-admin is granted to user app\n"
    assert etcdctl.ok("auth", "enable") == "Authentication Enabled\n"


def as_user(etcdctl, user, password):
    return UserEtcdctl(etcdctl.endpoint, "%s:%s" % (user, password))


class UserEtcdctl(Etcdctl):
    def __init__(self, endpoint, user):
        super().__init__(endpoint)
        self.user = user

    def run(self, *args, input=None):
        return super().run("--user", self.user, *args, input=input)


@pytest.fixture
def rbac(etcdctl):
    enable_rbac(etcdctl)
    return (as_user(etcdctl, "root", ROOT_PASSWORD), as_user(etcdctl, "app", APP_PASSWORD))


def test_user_confined_to_its_prefix(etcdctl, rbac):
    root, app = rbac
    assert app.ok("put", "/app/x", "1") == "OK\n"
    assert app.ok("get", "/app/x") == "/app/x\n1\n"
    assert app.ok("get", "/app/", "--prefix", "--keys-only") == "/app/x\n\n"
    assert app.error("put", "/other", "1") == "Error: etcdserver: permission denied"
    assert app.error("get", "/other") == "Error: etcdserver: permission denied"
    assert app.error("del", "/other") == "Error: etcdserver: permission denied"
    # A range that reaches past the prefix is not covered.
    assert app.error("get", "/app/", "--from-key") == "Error: etcdserver: permission denied"
    assert app.ok("del", "/app/x") == "1\n"
    # Root reads and writes everywhere.
    assert root.ok("put", "/other", "2") == "OK\n"
    assert root.ok("get", "/other") == "/other\n2\n"


def test_no_token_and_bad_password(etcdctl, rbac):
    assert etcdctl.error("put", "a", "1") == "Error: etcdserver: user name is empty"
    assert etcdctl.error("get", "a") == "Error: etcdserver: user name is empty"
    bad = as_user(etcdctl, "app", "wrong")
    assert bad.error("get", "/app/x") == \
        "Error: etcdserver: authentication failed, invalid user ID or password"
    nobody = as_user(etcdctl, "nobody", "x")
    assert nobody.error("get", "/app/x") == \
        "Error: etcdserver: authentication failed, invalid user ID or password"


def test_txn_checks_every_operation(etcdctl, rbac):
    _, app = rbac
    ok_txn = 'value("/app/a") = "x"\n\nput /app/a y\n\nput /app/b z\n\n'
    assert app.ok("txn", input=ok_txn) == "FAILURE\n\nOK\n"
    denied = [
        'value("/other") = "x"\n\nput /app/a y\n\n\n',   # compare outside
        'value("/app/a") = "z"\n\nput /other y\n\n\n',   # success branch
        'value("/app/a") = "z"\n\n\nget /other\n\n',     # failure branch
    ]
    for txn in denied:
        assert app.error("txn", input=txn) == "Error: etcdserver: permission denied"
    assert app.ok("get", "/app/b", "--print-value-only") == "z\n"


def test_watch_outside_prefix_is_refused(etcdctl, rbac):
    _, app = rbac
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    p = subprocess.run([ETCDCTL, "--endpoints=" + etcdctl.endpoint, "--user", app.user,
                        "watch", "/other"], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode != 0
    assert "permission denied" in p.stderr
    # Inside the prefix the watch sees events (from revision 1: no waiting).
    assert app.ok("put", "/app/w", "v") == "OK\n"
    rev = app.json("get", "/app/w")["header"]["revision"]
    p = subprocess.Popen([ETCDCTL, "--endpoints=" + etcdctl.endpoint, "--user", app.user,
                          "watch", "/app/w", "--rev", str(rev)], stdout=subprocess.PIPE,
                         text=True, env=env)
    try:
        assert [p.stdout.readline() for _ in range(3)] == ["PUT\n", "/app/w\n", "v\n"]
    finally:
        p.kill()
        p.wait()


def test_lease_keys_need_write_permission(etcdctl, rbac):
    root, app = rbac
    lease = app.ok("lease", "grant", "60").split()[1]
    assert app.ok("put", "/app/l", "v", "--lease", lease) == "OK\n"
    assert app.error("put", "/other", "v", "--lease", lease) == \
        "Error: etcdserver: permission denied"
    # Root attaches a key outside /app/: app may no longer revoke the lease.
    assert root.ok("put", "/other/l", "v", "--lease", lease) == "OK\n"
    assert app.error("lease", "revoke", lease) == \
        "Error: failed to revoke lease (etcdserver: permission denied)"
    assert root.ok("lease", "revoke", lease) == "lease %s revoked\n" % lease


def test_root_only_operations(etcdctl, rbac, tmp_path):
    root, app = rbac
    denied = "Error: etcdserver: permission denied"
    assert app.error("user", "list") == denied
    assert app.error("role", "list") == denied
    assert app.error("user", "add", "eve:pw") == denied
    assert app.error("role", "grant-permission", "app-admin", "readwrite", "/") == denied
    assert app.error("auth", "disable") == denied
    # Maintenance returns the auth store's own error, unconverted, as etcd 3.4.
    assert app.error("snapshot", "save", str(tmp_path / "s.db")) == \
        "Error: rpc error: code = Unknown desc = auth: permission denied"
    assert "permission denied" in app.run("endpoint", "hashkv").stderr
    # A user may read itself and its own roles.
    assert app.ok("user", "get", "app") == "User: app\nRoles: app-admin\n"
    assert app.ok("role", "get", "app-admin") == (
        "Role app-admin\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n"
        "KV Write:\n\t[/app/, /app0) (prefix /app/)\n")
    assert root.ok("user", "list") == "app\nroot\n"
    assert root.ok("role", "list") == "app-admin\nroot\n"


def test_permission_changes_apply_at_once(etcdctl, rbac):
    root, app = rbac
    assert app.ok("put", "/app/x", "1") == "OK\n"
    assert root.ok("role", "revoke-permission", "app-admin", "/app/", "--prefix=true") == \
        "Permission of range [/app/, /app0) is revoked from role app-admin\n"
    assert app.error("get", "/app/x") == "Error: etcdserver: permission denied"
    assert root.ok("role", "grant-permission", "app-admin", "read", "/app/x") == \
        "Role app-admin updated\n"
    assert app.ok("get", "/app/x", "--print-value-only") == "1\n"
    assert app.error("put", "/app/x", "2") == "Error: etcdserver: permission denied"
    assert root.ok("user", "revoke-role", "app", "app-admin") == \
        "Role app-admin is revoked from user app\n"
    assert app.error("get", "/app/x") == "Error: etcdserver: permission denied"
    assert root.ok("user", "passwd", "app", "--interactive=false", input="newpw\n") == \
        "Password updated\n"
    assert app.error("get", "/app/x") == \
        "Error: etcdserver: authentication failed, invalid user ID or password"
    assert root.ok("user", "delete", "app") == "User app deleted\n"
    assert root.ok("role", "delete", "app-admin") == "Role app-admin deleted\n"


def test_user_without_password_cannot_authenticate(etcdctl, rbac):
    root, _ = rbac
    assert root.ok("user", "add", "cn-only", "--no-password") == "User cn-only created\n"
    p = as_user(etcdctl, "cn-only", "guess").run("get", "/app/x")
    assert p.returncode != 0
    assert p.stderr.strip().splitlines()[-1] == (
        "Error: rpc error: code = Unknown desc = auth: authentication failed, password was "
        "given for no password user")


def test_management_errors(etcdctl):
    assert etcdctl.error("auth", "enable") == "Error: etcdserver: root user does not exist"
    assert etcdctl.ok("user", "add", "u:pw") == "User u created\n"
    assert etcdctl.error("user", "add", "u:pw") == "Error: etcdserver: user name already exists"
    assert etcdctl.error("user", "grant-role", "u", "nope") == \
        "Error: etcdserver: role name not found"
    assert etcdctl.error("user", "grant-role", "nobody", "root") == \
        "Error: etcdserver: user name not found"
    assert etcdctl.error("user", "revoke-role", "u", "root") == \
        "Error: etcdserver: role is not granted to the user"
    assert etcdctl.error("role", "get", "nope") == "Error: etcdserver: role name not found"
    assert etcdctl.ok("role", "add", "r") == "Role r created\n"
    assert etcdctl.error("role", "add", "r") == "Error: etcdserver: role name already exists"
    assert etcdctl.error("role", "revoke-permission", "r", "k") == \
        "Error: etcdserver: permission is not granted to the role"
    # Disabling a disabled store succeeds, as in etcd.
    assert etcdctl.ok("auth", "disable") == "Authentication Disabled\n"
    # Nothing half-applied: the failed calls changed nothing.
    assert etcdctl.ok("user", "list") == "u\n"
    assert etcdctl.ok("role", "list") == "r\n"
    # Root cannot lose the root role or be deleted while auth is on.
    enable_rbac(etcdctl)
    root = as_user(etcdctl, "root", ROOT_PASSWORD)
    assert root.error("user", "revoke-role", "root", "root") == \
        "Error: etcdserver: invalid auth management"
    assert root.error("user", "delete", "root") == "Error: etcdserver: invalid auth management"
    assert root.ok("auth", "disable") == "Authentication Disabled\n"
    assert etcdctl.ok("put", "a", "1") == "OK\n"


def authenticate(endpoint, user, password):
    with grpc.insecure_channel(endpoint) as ch:
        return etcdrpc.AuthStub(ch).Authenticate(
            etcdrpc.AuthenticateRequest(name=user, password=password), timeout=10).token


def get_with_token(endpoint, token, key):
    with grpc.insecure_channel(endpoint) as ch:
        return etcdrpc.KVStub(ch).Range(etcdrpc.RangeRequest(key=key.encode()), timeout=10,
                                        metadata=[("token", token)])


def test_lock_and_election_services_check_the_caller(etcdctl, rbac):
    stubs = ProtoStubs(["v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"])
    token = authenticate(etcdctl.endpoint, "app", APP_PASSWORD)
    md = [("token", token)]
    with grpc.insecure_channel(etcdctl.endpoint) as ch:
        lease = etcdrpc.LeaseStub(ch).LeaseGrant(etcdrpc.LeaseGrantRequest(TTL=60), timeout=10,
                                                 metadata=md).ID
        lock = stubs.unary(ch, "/v3lockpb.Lock/Lock", "v3lockpb.LockResponse")
        LockRequest = stubs.message("v3lockpb.LockRequest")
        held = lock(LockRequest(name=b"/app/lk", lease=lease), timeout=10, metadata=md)
        assert held.key == b"/app/lk/%x" % lease
        with pytest.raises(grpc.RpcError) as denied:
            lock(LockRequest(name=b"/other/lk", lease=lease), timeout=10, metadata=md)
        assert "permission denied" in denied.value.details()
        campaign = stubs.unary(ch, "/v3electionpb.Election/Campaign",
                               "v3electionpb.CampaignResponse")
        CampaignRequest = stubs.message("v3electionpb.CampaignRequest")
        with pytest.raises(grpc.RpcError) as denied:
            campaign(CampaignRequest(name=b"/other/e", lease=lease, value=b"v"), timeout=10,
                     metadata=md)
        assert "permission denied" in denied.value.details()
        won = campaign(CampaignRequest(name=b"/app/e", lease=lease, value=b"v"), timeout=10,
                       metadata=md)
        assert won.leader.key == b"/app/e/%x" % lease


def test_simple_token_expires(tmp_path):
    with Server(tmp_path, extra_args=["--auth-token-ttl", "1"]) as s:
        enable_rbac(Etcdctl(s.endpoint))
        token = authenticate(s.endpoint, "app", APP_PASSWORD)
        # etcd's simple token: 16 letters, ".", the Raft index.
        prefix, index = token.split(".")
        assert len(prefix) == 16 and prefix.isalpha() and index.isdigit()
        assert get_with_token(s.endpoint, token, "/app/x").count == 0
        # Unused for over its TTL, the token is gone. Each use renews it, so
        # the attempts are further apart than the TTL (etcd checks each second).
        for _ in range(5):
            time.sleep(2.5)
            try:
                get_with_token(s.endpoint, token, "/app/x")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.UNAUTHENTICATED
                assert e.details() == "etcdserver: invalid auth token"
                break
        else:
            pytest.fail("the token never expired")


def make_rsa_keys(tmp_path):
    priv, pub = tmp_path / "jwt.key", tmp_path / "jwt.pub"
    subprocess.run(["openssl", "genrsa", "-out", str(priv), "2048"], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(priv), "-pubout", "-out", str(pub)],
                   check=True, capture_output=True)
    return priv, pub


def test_jwt_tokens(tmp_path):
    priv, pub = make_rsa_keys(tmp_path)
    opts = "jwt,pub-key=%s,priv-key=%s,sign-method=RS256,ttl=10m" % (pub, priv)
    with Server(tmp_path, extra_args=["--auth-token", opts]) as s:
        etcdctl = Etcdctl(s.endpoint)
        enable_rbac(etcdctl)
        token = authenticate(s.endpoint, "app", APP_PASSWORD)
        assert token.count(".") == 2  # header.claims.signature
        assert get_with_token(s.endpoint, token, "/app/x").count == 0
        with pytest.raises(grpc.RpcError) as denied:
            get_with_token(s.endpoint, token, "/other")
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # A forged signature is refused.
        head, claims, sig = token.split(".")
        forged = ".".join([head, claims, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")])
        with pytest.raises(grpc.RpcError) as bad:
            get_with_token(s.endpoint, forged, "/app/x")
        assert bad.value.code() == grpc.StatusCode.UNAUTHENTICATED
        app = as_user(etcdctl, "app", APP_PASSWORD)
        assert app.ok("put", "/app/j", "1") == "OK\n"


def test_auth_across_leader_change(tmp_path):
    cluster = MemberCluster(tmp_path, 3)
    with cluster:
        first = cluster.members[0]
        enable_rbac(Etcdctl(first.endpoint))
        token = authenticate(first.endpoint, "app", APP_PASSWORD)
        # The token was issued through Raft: every member knows it.
        for m in cluster.members:
            assert get_with_token(m.endpoint, token, "/app/x").count == 0
        leader = wait_for_leader(cluster.members, timeout=30)
        leader.kill9()
        survivors = [m for m in cluster.members if m is not leader]
        wait_for_leader(survivors, timeout=30, exclude_ids=())
        for m in survivors:
            app = as_user(Etcdctl(m.endpoint), "app", APP_PASSWORD)
            assert app.ok("put", "/app/after", m.name) == "OK\n"
            assert app.error("put", "/other", "1") == "Error: etcdserver: permission denied"


def restore_and_check(tmp_path, tool, snap, binary, name):
    """Restores `snap` with `tool` (etcdctl or kvctl, same arguments), starts
    `binary` on it and checks that the users and roles came along."""
    out = tmp_path / name
    out.mkdir()
    s = Server(out, binary=binary)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    peer = "http://127.0.0.1:%d" % s.peer_port
    subprocess.run([tool, "snapshot", "restore", str(snap), "--data-dir", s.data_dir,
                    "--name", s.name, "--initial-cluster", "%s=%s" % (s.name, peer),
                    "--initial-advertise-peer-urls", peer],
                   check=True, capture_output=True, env=env)
    with s:
        etcdctl = Etcdctl(s.endpoint)
        assert etcdctl.error("get", "/app/s") == "Error: etcdserver: user name is empty"
        app = as_user(etcdctl, "app", APP_PASSWORD)
        assert app.ok("get", "/app/s", "--print-value-only") == "1\n"
        assert app.error("get", "/other") == "Error: etcdserver: permission denied"
        assert as_user(etcdctl, "root", ROOT_PASSWORD).ok("user", "list") == "app\nroot\n"


def test_snapshot_keeps_users_and_roles(etcdctl, rbac, tmp_path):
    root, app = rbac
    assert app.ok("put", "/app/s", "1") == "OK\n"
    snap = tmp_path / "auth.db"
    root.ok("snapshot", "save", str(snap))
    # Real etcd restored from the file checks the same passwords and roles.
    restore_and_check(tmp_path, ETCDCTL, snap, "/usr/bin/etcd", "in-etcd")
    if not IS_ETCD:
        restore_and_check(tmp_path, KVCTL, snap, None, "in-etcdd")


@pytest.mark.skipif(IS_ETCD, reason="etcd 3.4 writes passwords to its WAL in plain text")
def test_no_plain_text_password_on_disk(tmp_path):
    with Server(tmp_path) as s:
        etcdctl = Etcdctl(s.endpoint)
        enable_rbac(etcdctl)
        root = as_user(etcdctl, "root", ROOT_PASSWORD)
        assert root.ok("user", "passwd", "app", "--interactive=false",
                       input="Changed-Passw0rd-42\n") == "Password updated\n"
        assert as_user(etcdctl, "app", "Changed-Passw0rd-42").ok("put", "/app/k", "v") == "OK\n"
        data_dir = s.data_dir
    checked = 0
    for dirpath, _, files in os.walk(data_dir):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            checked += 1
            for secret in (APP_PASSWORD, ROOT_PASSWORD, "Changed-Passw0rd-42"):
                assert secret.encode() not in data, "%s holds a password" % name
    assert checked >= 2  # at least a WAL segment and the backend
