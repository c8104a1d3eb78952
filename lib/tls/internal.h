// Helpers shared by lib/tls's files; not part of its API.
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>

#include "base/log.h"
#include "base/status.h"
#include "tls/tls.h"

namespace grpc::experimental {
class CertificateVerifier;
}  // namespace grpc::experimental

namespace etcdd::tls::internal {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;


// The first certificate of a PEM text. Errors: InvalidArgument naming `what`.
Result<X509Ptr> ParseCertPem(const std::string& pem, const std::string& what);

// The verifier of client certificates on a listener: the chain to
// info.trusted_ca_file (system roots when empty), then the CRL, allowed CN
// and allowed host name; each refusal is logged as "rejected connection"
// with Go's error text, as etcd logs it.
std::shared_ptr<grpc::experimental::CertificateVerifier> NewPeerCertVerifier(
    const TlsInfo& info, const std::string& side, Logger& logger);

}  // namespace etcdd::tls::internal
