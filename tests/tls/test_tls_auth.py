"""Authentication over TLS: with --client-cert-auth a verified client
certificate's common name is the user of a request without a token (etcd's
AuthInfoFromTLS), and python etcd3 authenticates with user and password over
https. Real etcdctl and python3-etcd3 against real processes; run against
etcd itself with ETCDD_BIN=/usr/bin/etcd."""

import os
import subprocess
import sys

import etcd3
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Server  # noqa: E402

ETCDCTL = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")


def etcdctl(server, ca, *args, cert=None, input=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    files = ["--cacert", ca.cert]
    if cert is not None:
        files += ["--cert", cert.cert, "--key", cert.key]
    return subprocess.run([ETCDCTL, "--endpoints", "https://" + server.endpoint] + files +
                          list(args), capture_output=True, text=True, env=env, timeout=60,
                          input=input)


def ok(p):
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture
def rbac_server(tmp_path, pki):
    """mTLS with client-cert-auth; root and an app user confined to /app/."""
    args = ["--cert-file", pki.server.cert, "--key-file", pki.server.key,
            "--trusted-ca-file", pki.ca1.cert, "--client-cert-auth"]
    with Server(tmp_path, client_scheme="https", extra_args=args) as s:
        root = pki.client  # CN root
        for cmd in (["user", "add", "root:rootpw"], ["role", "add", "app-admin"],
                    ["role", "grant-permission", "app-admin", "readwrite", "--prefix=true",
                     "/app/"],
                    ["user", "add", "app:apppw"], ["user", "grant-role", "app", "app-admin"],
                    ["auth", "enable"]):
            ok(etcdctl(s, pki.ca1, *cmd, cert=root))
        yield s


def test_common_name_is_the_user(rbac_server, pki):
    s = rbac_server
    app = pki.cert("app-client", pki.ca1, cn="app", client=True)
    assert ok(etcdctl(s, pki.ca1, "put", "/app/x", "1", cert=app)) == "OK\n"
    denied = etcdctl(s, pki.ca1, "put", "/other", "1", cert=app)
    assert denied.returncode != 0
    assert denied.stderr.strip().splitlines()[-1] == "Error: etcdserver: permission denied"
    # CN root has the root role: management works without a password.
    assert ok(etcdctl(s, pki.ca1, "user", "list", cert=pki.client)) == "app\nroot\n"
    # A CN that names no user is denied.
    nobody = pki.cert("nobody-client", pki.ca1, cn="nobody", client=True)
    p = etcdctl(s, pki.ca1, "get", "/app/x", cert=nobody)
    assert p.stderr.strip().splitlines()[-1] == "Error: etcdserver: permission denied"
    # A token takes precedence over the certificate's name.
    p = etcdctl(s, pki.ca1, "--user", "app:apppw", "user", "list", cert=pki.client)
    assert p.stderr.strip().splitlines()[-1] == "Error: etcdserver: permission denied"


def test_python_etcd3_with_tls_and_password(rbac_server, pki):
    s = rbac_server
    host, port = s.endpoint.split(":")
    c = etcd3.client(host=host, port=int(port), ca_cert=pki.ca1.cert, cert_key=pki.client.key,
                     cert_cert=pki.client.cert, user="app", password="apppw", timeout=10)
    try:
        c.put("/app/p", "v")
        assert c.get("/app/p")[0] == b"v"
        with pytest.raises(Exception) as denied:
            c.put("/other", "v")
        assert "permission denied" in str(denied.value)
    finally:
        c.close()
