// The per-handshake client certificate checks of etcd's TLS listener: the
// chain to the trusted CA (Go's RequireAndVerifyClientCert; the CA file is
// read at each handshake, so a replaced CA takes effect at once), the CRL
// (listener_tls.go checkCRL) and the allowed CN / host name (listener.go
// baseConfig's VerifyPeerCertificate). OpenSSL does the verification; doing
// it here rather than inside the handshake lets every refusal be logged as
// etcd logs it ("rejected connection" with Go's error text).
#include <grpcpp/security/tls_certificate_verifier.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "tls/internal.h"

namespace etcdd::tls::internal {

namespace {

namespace gx = grpc::experimental;

// The serial of `cert` in lower-case hex, as Go's %x prints its bytes.
std::string SerialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string s = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (s.size() % 2 == 1) s = "0" + s;
  return s;
}

// "" if `cert` is not revoked by the CRL at `path`, else etcd's error.
std::string CheckRevoked(X509* cert, const std::string& path) {
  auto data = ReadTlsFile(path);
  if (!data.ok()) return data.status().message();
  BIO* bio = BIO_new_mem_buf(data->data(), static_cast<int>(data->size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  if (crl == nullptr) {
    BIO_free(bio);
    bio = BIO_new_mem_buf(data->data(), static_cast<int>(data->size()));
    crl = d2i_X509_CRL_bio(bio, nullptr);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (crl == nullptr) return "x509: malformed crl";
  X509_REVOKED* revoked = nullptr;
  const bool is_revoked = X509_CRL_get0_by_serial(crl, &revoked, X509_get_serialNumber(cert)) == 1;
  X509_CRL_free(crl);
  if (is_revoked) return "transport: certificate serial " + SerialHex(cert) + " revoked";
  return "";
}

// Go's wording for a chain that does not verify.
std::string ChainError(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "x509: certificate has expired or is not yet valid";
    case X509_V_ERR_INVALID_PURPOSE:
      return "x509: certificate specifies an incompatible key usage";
    default:
      return std::string("x509: certificate signed by unknown authority (") +
             X509_verify_cert_error_string(err) + ")";
  }
}

// Every certificate of a PEM text.
STACK_OF(X509) * ParseCerts(const std::string& pem) {
  STACK_OF(X509)* certs = sk_X509_new_null();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) sk_X509_push(certs, c);
  BIO_free(bio);
  ERR_clear_error();
  return certs;
}

// "" if `leaf` (with the intermediates in `chain_pem`) chains to a CA in
// `ca_file` (the system's roots when empty) and may be used by a client.
std::string VerifyChain(X509* leaf, const std::string& chain_pem, const std::string& ca_file) {
  X509_STORE* store = X509_STORE_new();
  if (ca_file.empty()) {
    X509_STORE_set_default_paths(store);
  } else {
    auto ca = ReadTlsFile(ca_file);
    if (!ca.ok()) {
      X509_STORE_free(store);
      return ca.status().message();
    }
    STACK_OF(X509)* cas = ParseCerts(*ca);
    for (int i = 0; i < sk_X509_num(cas); ++i) X509_STORE_add_cert(store, sk_X509_value(cas, i));
    sk_X509_pop_free(cas, X509_free);
  }
  STACK_OF(X509)* untrusted = ParseCerts(chain_pem);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  int ok = 0;
  int err = X509_V_ERR_UNSPECIFIED;
  if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    ok = X509_verify_cert(ctx);
    err = X509_STORE_CTX_get_error(ctx);
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_pop_free(untrusted, X509_free);
  X509_STORE_free(store);
  ERR_clear_error();
  return ok == 1 ? "" : ChainError(err);
}

std::string CommonName(X509* cert) {
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool ValidForHost(X509* cert, const std::string& host) {
  int ok = X509_check_ip_asc(cert, host.c_str(), 0);
  if (ok < 0) ok = 0;  // not an IP address: match the name instead
  if (ok == 0) ok = X509_check_host(cert, host.data(), host.size(), 0, nullptr);
  ERR_clear_error();
  return ok == 1;
}

class PeerCertVerifier : public gx::ExternalCertificateVerifier {
 public:
  PeerCertVerifier(TlsInfo info, std::string side, Logger& logger)
      : info_(std::move(info)), side_(std::move(side)), logger_(logger) {}

  bool Verify(gx::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    std::string error = Check(std::string(request->peer_cert().data(), request->peer_cert().size()),
                              std::string(request->peer_cert_full_chain().data(),
                                          request->peer_cert_full_chain().size()));
    if (error.empty()) {
      *sync_status = grpc::Status::OK;
    } else {
      logger_.Warn("rejected connection",
                   {{"listener", side_},
                    {"common-name",
                     std::string(request->common_name().data(), request->common_name().size())},
                    {"error", error}});
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, error);
    }
    return true;  // answered synchronously
  }

  void Cancel(gx::TlsCustomVerificationCheckRequest*) override {}

 private:
  std::string Check(const std::string& pem, const std::string& chain_pem) const {
    if (pem.empty()) return "tls: client didn't provide a certificate";
    auto cert = ParseCertPem(pem, "peer certificate");
    if (!cert.ok()) return cert.status().message();
    std::string chain_error = VerifyChain(cert->get(), chain_pem, info_.trusted_ca_file);
    if (!chain_error.empty()) return chain_error;
    if (!info_.crl_file.empty()) {
      std::string revoked = CheckRevoked(cert->get(), info_.crl_file);
      if (!revoked.empty()) return revoked;
    }
    if (!info_.allowed_cn.empty() && CommonName(cert->get()) != info_.allowed_cn) {
      return "client certificate authentication failed";
    }
    if (!info_.allowed_hostname.empty() && !ValidForHost(cert->get(), info_.allowed_hostname)) {
      return "client certificate authentication failed";
    }
    return "";
  }

  const TlsInfo info_;
  const std::string side_;
  Logger& logger_;
};

}  // namespace

std::shared_ptr<gx::CertificateVerifier> NewPeerCertVerifier(const TlsInfo& info,
                                                             const std::string& side,
                                                             Logger& logger) {
  return gx::ExternalCertificateVerifier::Create<PeerCertVerifier>(info, side, logger);
}

}  // namespace etcdd::tls::internal
