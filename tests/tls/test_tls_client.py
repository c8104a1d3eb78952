"""etcdd's client listener over TLS, against etcdctl, python etcd3 and
kvctl: https URLs, --client-cert-auth (wrong CA, expired, revoked refused),
auto TLS, certificate reload without restart, env vars and config file, bad
input. Real processes on loopback; certificates made with openssl."""

import json
import os
import shutil
import subprocess
import sys
import time

import etcd3
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Server, free_port, is_real_etcd, server_binary  # noqa: E402

ETCDCTL = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KVCTL = os.environ.get("KVCTL_BIN", os.path.join(REPO, "build", "cmd", "kvctl", "kvctl"))


def ctl(tool, endpoint, *args, timeout=30):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCDCTL_", "KVCTL_"))}
    env["ETCDCTL_API"] = "3"
    binary = ETCDCTL if tool == "etcdctl" else KVCTL
    return subprocess.run([binary, "--endpoints", endpoint, "--dial-timeout", "2s"] + list(args),
                          capture_output=True, text=True, timeout=timeout, env=env)


def tls_args(cert, ca=None, client_cert_auth=False, extra=()):
    a = ["--cert-file", cert.cert, "--key-file", cert.key]
    if ca:
        a += ["--trusted-ca-file", ca]
    if client_cert_auth:
        a += ["--client-cert-auth"]
    return a + list(extra)


def https(server):
    return "https://" + server.endpoint


def client_files(c):
    return ["--cert", c.cert, "--key", c.key]


def test_etcdctl_and_python_over_https(tmp_path, pki):
    with Server(tmp_path, client_scheme="https", extra_args=tls_args(pki.server)) as s:
        assert any("serving client traffic securely" in line for line in s.log)
        r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, "put", "a", "1")
        assert r.returncode == 0 and r.stdout == "OK\n", r.stderr
        r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, "get", "a")
        assert r.stdout == "a\n1\n", r.stderr
        host, port = s.endpoint.split(":")
        c = etcd3.client(host=host, port=int(port), ca_cert=pki.ca1.cert, timeout=5)
        assert c.get("a")[0] == b"1"
        c.close()


def test_http_and_https_listeners_together(tmp_path, pki):
    plain = free_port()
    s = Server(tmp_path, client_scheme="https", extra_args=tls_args(pki.server))
    urls = "https://%s,http://127.0.0.1:%d" % (s.endpoint, plain)
    base_args = s.args

    def args():
        a = base_args()
        a[a.index("--listen-client-urls") + 1] = urls
        return a
    s.args = args
    with s:
        assert ctl("etcdctl", "127.0.0.1:%d" % plain, "put", "k", "v").returncode == 0
        r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, "get", "k", "--print-value-only")
        assert r.stdout == "v\n", r.stderr


def test_mutual_tls(tmp_path, pki):
    expired = pki.cert("expired", pki.ca1, cn="root", client=True, expired=True)
    revoked = pki.cert("revoked", pki.ca1, cn="root", client=True)
    crl = pki.crl(pki.ca1, revoked=[revoked])
    args = tls_args(pki.server, ca=pki.ca1.cert, client_cert_auth=True,
                    extra=["--client-crl-file", crl])
    with Server(tmp_path, client_scheme="https", extra_args=args) as s:
        ok = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, *client_files(pki.client),
                 "put", "k", "v")
        assert ok.returncode == 0 and ok.stdout == "OK\n", ok.stderr
        host, port = s.endpoint.split(":")
        c = etcd3.client(host=host, port=int(port), ca_cert=pki.ca1.cert,
                         cert_key=pki.client.key, cert_cert=pki.client.cert, timeout=5)
        assert c.get("k")[0] == b"v"
        c.close()
        refused = {
            "no client cert": [],
            "wrong CA": client_files(pki.other_client),
            "expired": client_files(expired),
            "revoked": client_files(revoked),
        }
        for what, files in refused.items():
            r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, *files, "get", "k")
            assert r.returncode != 0, what
            assert "context deadline exceeded" in r.stderr, (what, r.stderr)
        # Each refusal is logged with etcd's words and Go's error text.
        for error in ("x509: certificate signed by unknown authority",
                      "x509: certificate has expired or is not yet valid",
                      "transport: certificate serial %s revoked" % revoked.serial):
            assert any("rejected connection" in line and error in line for line in s.log), error


def test_kvctl_matches_etcdctl_with_mtls(tmp_path, pki):
    args = tls_args(pki.server, ca=pki.ca1.cert, client_cert_auth=True)
    with Server(tmp_path, client_scheme="https", extra_args=args) as s:
        common = ["--cacert", pki.ca1.cert] + client_files(pki.client)
        for tool in ("etcdctl", "kvctl"):
            assert ctl(tool, https(s), *common, "put", "k-" + tool, "v").returncode == 0
        outs = {tool: ctl(tool, https(s), *common, "get", "k-", "--prefix")
                for tool in ("etcdctl", "kvctl")}
        assert outs["kvctl"].stdout == outs["etcdctl"].stdout == "k-etcdctl\nv\nk-kvctl\nv\n"
        # A bare host:port endpoint dials TLS when TLS files are given.
        r = ctl("kvctl", s.endpoint, *common, "get", "k-kvctl", "--print-value-only")
        assert r.stdout == "v\n", r.stderr
        # No client cert: both fail the same way, and kvctl prints nothing else.
        outs = {tool: ctl(tool, https(s), "--cacert", pki.ca1.cert, "get", "k")
                for tool in ("etcdctl", "kvctl")}
        for tool, r in outs.items():
            assert r.returncode == 1, (tool, r.stderr)
            assert r.stdout == ""
        assert outs["kvctl"].stderr == "Error: context deadline exceeded\n"
        # A missing --cacert file is named as etcdctl names it.
        outs = {tool: ctl(tool, https(s), "--cacert", "/nonexistent/ca.pem", "get", "k")
                for tool in ("etcdctl", "kvctl")}
        assert outs["kvctl"].returncode == outs["etcdctl"].returncode
        assert outs["kvctl"].stderr == outs["etcdctl"].stderr == \
            "Error: open /nonexistent/ca.pem: no such file or directory\n"
        # An untrusted server: --insecure-skip-tls-verify still connects.
        r = ctl("kvctl", https(s), "--insecure-skip-tls-verify", *client_files(pki.client),
                "get", "k-kvctl", "--print-value-only")
        assert r.stdout == "v\n", r.stderr


def test_kvctl_dial_timeout_zero(tmp_path):
    with Server(tmp_path) as s:
        r = subprocess.run([KVCTL, "--endpoints", s.endpoint, "--dial-timeout", "0", "put", "a",
                            "b"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout == "OK\n", r.stderr


def test_auto_tls_serves_https_and_reuses_its_cert(tmp_path):
    s = Server(tmp_path, client_scheme="https", extra_args=["--auto-tls"])
    with s:
        cert = os.path.join(s.data_dir, "fixtures", "client", "cert.pem")
        key = os.path.join(s.data_dir, "fixtures", "client", "key.pem")
        assert os.path.exists(cert) and os.path.exists(key)
        assert oct(os.stat(key).st_mode & 0o777) == "0o600"
        first = open(cert).read()
        r = ctl("etcdctl", https(s), "--insecure-transport=false", "--insecure-skip-tls-verify",
                "put", "a", "b")
        assert r.returncode == 0, r.stderr
        r = ctl("kvctl", https(s), "--insecure-skip-tls-verify", "get", "a", "--print-value-only")
        assert r.stdout == "b\n", r.stderr
        # --insecure-transport=false makes a bare endpoint dial TLS.
        for tool in ("etcdctl", "kvctl"):
            r = ctl(tool, s.endpoint, "--insecure-transport=false", "--insecure-skip-tls-verify",
                    "get", "a", "--print-value-only")
            assert r.stdout == "b\n", (tool, r.stderr)
        s.restart()
        assert open(cert).read() == first
        r = ctl("kvctl", https(s), "--insecure-skip-tls-verify", "get", "a", "--print-value-only")
        assert r.stdout == "b\n", r.stderr


def test_certificates_reload_without_restart(tmp_path, pki):
    live = tmp_path / "live"
    live.mkdir()
    cert, key = str(live / "server.pem"), str(live / "server.key")
    shutil.copy(pki.server.cert, cert)
    shutil.copy(pki.server.key, key)
    args = ["--cert-file", cert, "--key-file", key]
    with Server(tmp_path, client_scheme="https", extra_args=args) as s:
        assert ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, "put", "k", "v").returncode == 0
        # A new server cert from a new CA replaces the files (key first, as
        # a rotation tool would; each replaced by rename).
        ca3 = pki.ca("ca3")
        new = pki.cert("server3", ca3, cn="etcd", ips=["127.0.0.1"])
        shutil.copy(new.key, key + ".tmp")
        shutil.copy(new.cert, cert + ".tmp")
        os.rename(key + ".tmp", key)
        os.rename(cert + ".tmp", cert)
        # Reload is periodic (gRPC's file watcher): poll the condition, bounded.
        deadline = time.monotonic() + 30
        while True:
            r = ctl("etcdctl", https(s), "--cacert", ca3.cert, "get", "k", "--print-value-only")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
        assert r.stdout == "v\n", r.stderr
        # The old CA no longer verifies the server.
        r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, "get", "k")
        assert r.returncode != 0


def test_env_vars_start_https(tmp_path, pki):
    env = dict(os.environ, ETCD_CERT_FILE=pki.server.cert, ETCD_KEY_FILE=pki.server.key,
               ETCD_TRUSTED_CA_FILE=pki.ca1.cert, ETCD_CLIENT_CERT_AUTH="true")
    with Server(tmp_path, client_scheme="https", env=env) as s:
        r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, *client_files(pki.client),
                "put", "k", "v")
        assert r.returncode == 0, r.stderr
        r = ctl("etcdctl", https(s), "--cacert", pki.ca1.cert, "get", "k")
        assert r.returncode != 0  # client cert required


class ConfigFileServer(Server):
    """A member started with --config-file alone."""

    def __init__(self, tmp_path, conf, client_port):
        super().__init__(tmp_path, name="c", client_port=client_port)
        self.conf = conf

    def args(self):
        return [self.binary, "--config-file", str(self.conf)]


def test_config_file_sections_start_https(tmp_path, pki):
    client, peer = free_port(), free_port()
    conf = tmp_path / "etcd.conf.yml"
    conf.write_text(
        "name: c\n"
        "data-dir: %s\n"
        "listen-client-urls: https://127.0.0.1:%d\n"
        "advertise-client-urls: https://127.0.0.1:%d\n"
        "listen-peer-urls: https://127.0.0.1:%d\n"
        "initial-advertise-peer-urls: https://127.0.0.1:%d\n"
        "initial-cluster: c=https://127.0.0.1:%d\n"
        "client-transport-security:\n"
        "  cert-file: %s\n  key-file: %s\n  client-cert-auth: true\n  trusted-ca-file: %s\n"
        "  auto-tls: false\n"
        "peer-transport-security:\n"
        "  cert-file: %s\n  key-file: %s\n  client-cert-auth: true\n  trusted-ca-file: %s\n"
        % (tmp_path / "c.etcd", client, client, peer, peer, peer,
           pki.server.cert, pki.server.key, pki.ca1.cert,
           pki.server.cert, pki.server.key, pki.ca1.cert))
    with ConfigFileServer(tmp_path, conf, client) as s:
        assert any("serving peer traffic securely" in line for line in s.log), s.log
        r = ctl("etcdctl", "https://" + s.endpoint, "--cacert", pki.ca1.cert,
                *client_files(pki.client), "member", "list")
        assert r.returncode == 0 and "https://127.0.0.1:%d" % peer in r.stdout, r.stderr


def run_etcdd(tmp_path, *args):
    data = tmp_path / "bad.etcd"
    peer = free_port()
    client = free_port()
    r = subprocess.run([server_binary(), "--data-dir", str(data),
                        "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                        "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                        "--initial-cluster", "default=http://127.0.0.1:%d" % peer,
                        "--listen-client-urls", "https://127.0.0.1:%d" % client,
                        "--advertise-client-urls", "https://127.0.0.1:%d" % client]
                       + list(args), capture_output=True, text=True, timeout=30)
    return r, data


@pytest.mark.skipif(is_real_etcd(), reason="etcdd's start-up checks")
def test_bad_tls_input_is_refused_before_the_data_dir(tmp_path, pki):
    unreadable = tmp_path / "unreadable.key"
    shutil.copy(pki.server.key, unreadable)
    os.chmod(unreadable, 0)
    cases = [
        ([], "TLS key/cert (--cert-file, --key-file) must be provided for client url "
             "https://127.0.0.1:"),
        (["--cert-file", "/nonexistent/cert.pem", "--key-file", pki.server.key],
         "open /nonexistent/cert.pem: no such file or directory"),
        (["--cert-file", pki.server.cert, "--key-file", pki.client.key],
         "tls: private key does not match public key"),
        (["--cert-file", pki.server.cert, "--key-file", pki.server.key,
          "--trusted-ca-file", "/nonexistent/ca.pem"],
         "open /nonexistent/ca.pem: no such file or directory"),
        (["--cert-file", pki.server.cert, "--key-file", pki.server.key,
          "--cipher-suites", "TLS_NOT_A_SUITE"],
         'unexpected TLS cipher suite "TLS_NOT_A_SUITE"'),
    ]
    if os.geteuid() != 0:  # root reads any file
        cases.append((["--cert-file", pki.server.cert, "--key-file", str(unreadable)],
                       "open %s: permission denied" % unreadable))
    for args, message in cases:
        r, data = run_etcdd(tmp_path, *args)
        assert r.returncode != 0, args
        errors = []
        for line in r.stderr.splitlines():
            try:
                errors.append(json.loads(line).get("error", ""))
            except ValueError:
                errors.append(line)
        assert any(message in e for e in errors), (args, r.stderr)
        assert not data.exists(), args
