"""Test certificates made with the `openssl` command line.

    pki = Pki(tmpdir)
    ca = pki.ca("ca")                                    # a self-signed CA
    server = pki.cert("server", ca, cn="etcd", ips=["127.0.0.1"], dns=["localhost"])
    client = pki.cert("client", ca, cn="root", client=True)
    old = pki.cert("old", ca, cn="root", client=True, expired=True)
    crl = pki.crl(ca, revoked=[client])

Each cert is a Cert with .cert, .key (PEM file paths) and .ca (its CA's
cert path). Certificates are RSA 2048 signed with SHA-256; a server cert is
usable for both server and client auth (members present theirs both ways).
An expired certificate is made by `openssl ca` with -startdate/-enddate in
the past. Nothing here sleeps or depends on time beyond "now".
"""

import os
import subprocess


class Cert:
    def __init__(self, name, cert, key, ca, serial=None):
        self.name = name
        self.cert = cert
        self.key = key
        self.ca = ca
        self.serial = serial


class Pki:
    def __init__(self, tmpdir):
        self.dir = os.path.abspath(os.path.join(str(tmpdir), "pki"))
        os.makedirs(self.dir, exist_ok=True)

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _run(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=self.dir)

    def ca(self, name):
        key, cert = self._path(name + ".key"), self._path(name + ".pem")
        self._run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                  "-days", "30", "-subj", "/CN=%s" % name, "-sha256",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        # The `openssl ca` database (for expired certs and CRLs).
        db = self._path(name + ".db")
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "crlnumber"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("%032x\n" % int.from_bytes(os.urandom(15), "big"))
        with open(os.path.join(db, "openssl.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = ca_default\n[ca_default]\n"
                    "dir = %s\ndatabase = $dir/index.txt\nserial = $dir/serial\n"
                    "crlnumber = $dir/crlnumber\nnew_certs_dir = $dir\n"
                    "certificate = %s\nprivate_key = %s\ndefault_md = sha256\n"
                    "default_crl_days = 30\npolicy = policy_any\nunique_subject = no\n"
                    "copy_extensions = copy\n"
                    "[policy_any]\ncommonName = supplied\n" % (db, cert, key))
        return Cert(name, cert, key, cert)

    def cert(self, name, ca, cn, ips=(), dns=(), client=False, expired=False):
        """A leaf certificate for `cn` signed by `ca` (a Cert from ca())."""
        key, csr, cert = self._path(name + ".key"), self._path(name + ".csr"), \
            self._path(name + ".pem")
        sans = ["IP:%s" % ip for ip in ips] + ["DNS:%s" % d for d in dns]
        req = ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
               "-subj", "/CN=%s" % cn, "-addext", "extendedKeyUsage=serverAuth,clientAuth"]
        if sans:
            req += ["-addext", "subjectAltName=" + ",".join(sans)]
        self._run(*req)
        db = self._path(ca.name + ".db")
        if expired:
            dates = ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]
        else:
            dates = ["-days", "30"]
        self._run("ca", "-batch", "-config", os.path.join(db, "openssl.cnf"), "-in", csr,
                  "-out", cert, "-notext", *dates)
        serial = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-serial"],
                                check=True, capture_output=True, text=True).stdout
        return Cert(name, cert, key, ca.cert, serial.strip().split("=")[1].lower())

    def crl(self, ca, revoked=()):
        """A PEM CRL from `ca` revoking the given Certs; returns its path."""
        conf = os.path.join(self._path(ca.name + ".db"), "openssl.cnf")
        for c in revoked:
            self._run("ca", "-config", conf, "-revoke", c.cert)
        out = self._path(ca.name + ".crl.pem")
        self._run("ca", "-config", conf, "-gencrl", "-out", out)
        return out
