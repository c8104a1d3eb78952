// Auto TLS: etcd's transport.SelfCert with OpenSSL's EVP and X509 APIs.
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/file.h"
#include "tls/internal.h"

namespace etcdd::tls {

namespace {

std::string OpenSslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return what + ": " + buf;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// "host:port", "[v6]:port" or "host" to the host.
std::string HostOf(const std::string& host_port) {
  if (!host_port.empty() && host_port[0] == '[') {
    auto end = host_port.find(']');
    return host_port.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  }
  auto colon = host_port.rfind(':');
  if (colon != std::string::npos && host_port.find(':') == colon) return host_port.substr(0, colon);
  return host_port;
}

bool AddExt(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// The PEM certificate and key, or an error.
Result<std::pair<std::string, std::string>> MakeSelfSigned(const std::vector<std::string>& hosts,
                                                           int validity_years) {
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(EVP_EC_gen("P-521"), EVP_PKEY_free);
  if (!key) return Status::Internal(OpenSslError("cannot generate ECDSA key"));
  internal::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600 * validity_years);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("etcd"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  std::string san;
  for (const auto& h : hosts) {
    std::string host = HostOf(h);
    if (host.empty()) continue;
    unsigned char buf[16];
    const bool ip =
        inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + host;
  }
  if (!AddExt(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExt(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      !AddExt(cert.get(), NID_ext_key_usage, "serverAuth") ||
      (!san.empty() && !AddExt(cert.get(), NID_subject_alt_name, san))) {
    return Status::Internal(OpenSslError("cannot generate x509 certificate"));
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha512()) == 0) {
    return Status::Internal(OpenSslError("cannot generate x509 certificate"));
  }
  BIO* cert_bio = BIO_new(BIO_s_mem());
  BIO* key_bio = BIO_new(BIO_s_mem());
  const bool ok = PEM_write_bio_X509(cert_bio, cert.get()) == 1 &&
                  PEM_write_bio_PrivateKey_traditional(key_bio, key.get(), nullptr, nullptr, 0,
                                                       nullptr, nullptr) == 1;
  std::pair<std::string, std::string> out{BioText(cert_bio), BioText(key_bio)};
  BIO_free(cert_bio);
  BIO_free(key_bio);
  if (!ok) return Status::Internal(OpenSslError("cannot encode the certificate"));
  return out;
}

}  // namespace

Result<TlsInfo> SelfCert(const std::string& dir, const std::vector<std::string>& hosts,
                         int validity_years, Logger& logger) {
  TlsInfo info;
  info.cert_file = dir + "/cert.pem";
  info.key_file = dir + "/key.pem";
  info.self_cert = true;
  if (PathExists(info.cert_file) && PathExists(info.key_file)) return info;
  if (auto s = CreateDirs(dir); !s.ok()) {
    logger.Warn("cannot create cert directory", {{"error", s.message()}});
    return s;
  }
  ASSIGN_OR_RETURN(auto pems, MakeSelfSigned(hosts, validity_years < 1 ? 1 : validity_years));
  // The key first: a crash between the two leaves no cert.pem, and the pair
  // is made anew at the next start.
  RETURN_IF_ERROR(WriteFileAtomic(info.key_file, pems.second));
  RETURN_IF_ERROR(WriteFileAtomic(info.cert_file, pems.first));
  logger.Info("created cert file", {{"path", info.cert_file}});
  logger.Info("created key file", {{"path", info.key_file}});
  return info;
}

}  // namespace etcdd::tls
