"""The real etcdctl (Debian etcd-client, 3.4) run against a set of endpoints,
for cluster tests that drive membership and leadership as an operator does.

    r = etcdctl(endpoints, "member", "list", "-w", "json")   # CompletedProcess
    statuses(endpoints)  # {endpoint: Maintenance.Status as etcdctl's JSON}
"""

import json
import os
import subprocess


def etcdctl(endpoints, *args, check=False):
    """Runs etcdctl with ETCDCTL_API=3; with `check`, fails on a nonzero exit
    with etcdctl's stderr."""
    env = dict(os.environ, ETCDCTL_API="3")
    r = subprocess.run(["etcdctl", "--endpoints", ",".join(endpoints)] + list(args),
                       capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def statuses(endpoints):
    """`endpoint status -w json`, as {endpoint: status} for the endpoints that
    answered. Like any protobuf JSON, a status omits zero fields: no
    "leader" while the member has none."""
    out = etcdctl(endpoints, "endpoint", "status", "-w", "json").stdout
    return {s["Endpoint"]: s["Status"] for s in json.loads(out)}
