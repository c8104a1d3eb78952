"""JWT auth tokens interoperate with real etcd 3.4 in both directions.

For each sign method, keys are made with the `openssl` CLI and a real etcd
(/usr/bin/etcd) starts with --auth-token jwt,pub-key=...,priv-key=...,
sign-method=...; root is added and auth enabled with etcdctl, and etcd's
gateway (POST /v3/auth/authenticate) hands out a token. Then auth_test's
JwtInterop test, given the same --auth-token:
  - accepts etcd's token (user root, its auth revision), and
  - issues a token of ours (same header and claim names and types), which
    etcd accepts for a put through the gateway
    (Authorization header), while a tampered copy gets "invalid auth token".

$AUTH_TEST_BIN is the gtest binary (set by CMake).
"""

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from etcdd_harness import Server  # noqa: E402

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"

pytestmark = pytest.mark.skipif(not (os.path.exists(ETCD) and os.path.exists(ETCDCTL)),
                                reason="real etcd 3.4 is not installed")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_keys(tmp, method):
    """--auth-token options for `method`, with key files in tmp."""
    priv, pub = os.path.join(tmp, "key.pem"), os.path.join(tmp, "pub.pem")
    if method.startswith("HS"):
        with open(priv, "w") as f:
            f.write("interop shared secret")
        return "priv-key=%s" % priv
    if method.startswith("RS"):
        openssl("genrsa", "-out", priv, "2048")
        openssl("rsa", "-in", priv, "-pubout", "-out", pub)
    else:
        curve = {"ES256": "prime256v1", "ES384": "secp384r1", "ES512": "secp521r1"}[method]
        openssl("ecparam", "-name", curve, "-genkey", "-noout", "-out", priv)
        openssl("ec", "-in", priv, "-pubout", "-out", pub)
    return "pub-key=%s,priv-key=%s" % (pub, priv)


def post(endpoint, path, body, token=None):
    req = urllib.request.Request("http://%s%s" % (endpoint, path), data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if token is not None:
        req.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def b64(s):
    return base64.b64encode(s.encode()).decode()


# PS256/384/512 are refused by etcdd (libjwt 1.10 has no RSASSA-PSS).
@pytest.mark.parametrize("method", ["RS256", "RS384", "ES256", "ES512", "HS256"])
def test_tokens_cross_verify_with_etcd(tmp_path, method):
    flag = "jwt,%s,sign-method=%s" % (make_keys(str(tmp_path), method), method)
    with Server(tmp_path, binary=ETCD, extra_args=["--auth-token", flag + ",ttl=10m"]) as etcd:
        ctl = [ETCDCTL, "--endpoints", etcd.endpoint]
        subprocess.run(ctl + ["user", "add", "root:pw"], check=True, capture_output=True)
        subprocess.run(ctl + ["auth", "enable"], check=True, capture_output=True)
        status, resp = post(etcd.endpoint, "/v3/auth/authenticate",
                            {"name": "root", "password": "pw"})
        assert status == 200, resp
        etcd_token = resp["token"]

        out = tmp_path / "our_token"
        # Another ttl than etcd's, so that our token differs from etcd's even
        # for the deterministic methods (RS, HS), whose tokens issued in the
        # same second are otherwise byte for byte etcd's.
        env = dict(os.environ, ETCDD_JWT_INTEROP_FLAG=flag + ",ttl=20m",
                   ETCDD_JWT_INTEROP_TOKEN=etcd_token,
                   ETCDD_JWT_INTEROP_OUT=str(out))
        run = subprocess.run([os.environ["AUTH_TEST_BIN"],
                              "--gtest_filter=JwtInterop.VerifiesEtcdTokenAndIssuesOne"],
                             env=env, capture_output=True, text=True)
        assert run.returncode == 0 and "[  PASSED  ] 1 test" in run.stdout, run.stdout
        ours = out.read_text()
        assert ours.split(".")[0] == etcd_token.split(".")[0]  # same header bytes
        ours_claims = json.loads(base64.urlsafe_b64decode(ours.split(".")[1] + "=="))
        etcd_claims = json.loads(base64.urlsafe_b64decode(etcd_token.split(".")[1] + "=="))
        assert sorted(ours_claims) == sorted(etcd_claims) == ["exp", "revision", "username"]
        assert ours_claims["exp"] - etcd_claims["exp"] in range(599, 602)

        status, resp = post(etcd.endpoint, "/v3/kv/put", {"key": b64("k"), "value": b64("v")},
                            token=ours)
        assert status == 200, resp
        assert int(resp["header"]["revision"]) == 2

        header, claims, sig = ours.split(".")
        forged = header + "." + claims + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
        status, resp = post(etcd.endpoint, "/v3/kv/put", {"key": b64("k"), "value": b64("x")},
                            token=forged)
        assert status != 200
        assert "invalid auth token" in json.dumps(resp), resp
