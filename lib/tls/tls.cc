#include "tls/tls.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/go_text.h"
#include "tls/internal.h"

namespace etcdd::tls {

namespace internal {

Result<X509Ptr> ParseCertPem(const std::string& pem, const std::string& what) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  ERR_clear_error();
  if (!cert) {
    return Status::InvalidArgument("tls: failed to find any PEM data in certificate input (" +
                                   what + ")");
  }
  return cert;
}

}  // namespace internal

namespace {

using internal::ParseCertPem;

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

Status CheckKeyPair(const std::string& cert_file, const std::string& key_file) {
  ASSIGN_OR_RETURN(std::string cert_pem, ReadTlsFile(cert_file));
  ASSIGN_OR_RETURN(std::string key_pem, ReadTlsFile(key_file));
  ASSIGN_OR_RETURN(auto cert, ParseCertPem(cert_pem, cert_file));
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  ERR_clear_error();
  if (!key) {
    return Status::InvalidArgument("tls: failed to find any PEM data in key input (" + key_file +
                                   ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls: private key does not match public key (cert " + cert_file +
                                   ", key " + key_file + ")");
  }
  return Status::Ok();
}

Status CheckCrl(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadTlsFile(path));
  BIO* bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  if (crl == nullptr) {
    BIO_free(bio);
    bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
    crl = d2i_X509_CRL_bio(bio, nullptr);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (crl == nullptr) return Status::InvalidArgument("x509: malformed crl (" + path + ")");
  X509_CRL_free(crl);
  return Status::Ok();
}

}  // namespace

std::string TlsInfo::ToString() const {
  return "cert = " + cert_file + ", key = " + key_file + ", trusted-ca = " + trusted_ca_file +
         ", client-cert-auth = " + (client_cert_auth ? "true" : "false") +
         ", crl-file = " + crl_file;
}

Status CheckFiles(const TlsInfo& info) {
  if (info.cert_file.empty() != info.key_file.empty()) {
    return Status::InvalidArgument("KeyFile and CertFile must both be present[key: " +
                                   info.key_file + ", cert: " + info.cert_file + "]");
  }
  if (!info.allowed_cn.empty() && !info.allowed_hostname.empty()) {
    return Status::InvalidArgument("AllowedCN and AllowedHostname are mutually exclusive (cn=\"" +
                                   info.allowed_cn + "\", hostname=\"" + info.allowed_hostname +
                                   "\")");
  }
  if (!info.cert_file.empty()) RETURN_IF_ERROR(CheckKeyPair(info.cert_file, info.key_file));
  if (!info.trusted_ca_file.empty()) {
    ASSIGN_OR_RETURN(std::string ca, ReadTlsFile(info.trusted_ca_file));
    RETURN_IF_ERROR(ParseCertPem(ca, info.trusted_ca_file).status());
  }
  if (!info.crl_file.empty()) RETURN_IF_ERROR(CheckCrl(info.crl_file));
  return Status::Ok();
}

Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const TlsInfo& info,
                                                                   const std::string& side,
                                                                   Logger& logger) {
  RETURN_IF_ERROR(CheckFiles(info));
  if (info.Empty()) return Status::InvalidArgument("no TLS key/cert given");
  namespace gx = grpc::experimental;
  auto provider = std::make_shared<gx::FileWatcherCertificateProvider>(
      info.key_file, info.cert_file, kRefreshSeconds);
  gx::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  // etcd 3.4: a trusted CA alone also requires verified client certs. The
  // handshake requires a certificate; the verifier checks it (chain, CRL,
  // CN / host name) so that each refusal is logged with its reason.
  const bool verify = !info.trusted_ca_file.empty() || info.client_cert_auth;
  if (verify) {
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    options.set_certificate_verifier(internal::NewPeerCertVerifier(info, side, logger));
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return gx::TlsServerCredentials(options);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(const TlsInfo& info) {
  RETURN_IF_ERROR(CheckFiles(info));
  namespace gx = grpc::experimental;
  gx::TlsChannelCredentialsOptions options;
  if (!info.Empty() || !info.trusted_ca_file.empty()) {
    options.set_certificate_provider(std::make_shared<gx::FileWatcherCertificateProvider>(
        info.key_file, info.cert_file, info.trusted_ca_file, kRefreshSeconds));
    if (!info.Empty()) options.watch_identity_key_cert_pairs();
    if (!info.trusted_ca_file.empty()) options.watch_root_certs();
  }
  if (info.self_cert || info.insecure_skip_verify) {
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(std::make_shared<gx::NoOpCertificateVerifier>());
  } else {
    options.set_certificate_verifier(std::make_shared<gx::HostNameCertificateVerifier>());
  }
  auto creds = gx::TlsCredentials(options);
  if (!creds) return Status::Internal("cannot create TLS channel credentials");
  return creds;
}

namespace {
// Go's crypto/tls names (tls.CipherSuites and tls.InsecureCipherSuites, plus
// the two aliases tlsutil.GetCipherSuite accepts).
const char* const kGoCipherSuites[] = {
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
};
}  // namespace

Status CheckCipherSuites(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (std::find(std::begin(kGoCipherSuites), std::end(kGoCipherSuites), n) ==
        std::end(kGoCipherSuites)) {
      return Status::InvalidArgument("unexpected TLS cipher suite \"" + n + "\"");
    }
  }
  return Status::Ok();
}

Result<std::string> ReadTlsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("open " + path + ": " + GoErrnoText(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("read " + path + ": input/output error");
  return out.str();
}


}  // namespace etcdd::tls
