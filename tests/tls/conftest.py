import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tls_certs import Pki  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """One CA with a server cert (127.0.0.1, localhost), a client cert (CN
    root), and a second CA with a client cert of its own."""
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca1 = p.ca("ca")
    p.ca2 = p.ca("ca2")
    p.server = p.cert("server", p.ca1, cn="etcd", ips=["127.0.0.1"], dns=["localhost"])
    p.client = p.cert("client", p.ca1, cn="root", client=True)
    p.other_client = p.cert("other", p.ca2, cn="root", client=True)
    return p
