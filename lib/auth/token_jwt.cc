#include "auth/token_jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/file.h"
#include "base/go_text.h"

namespace etcdd::auth {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

// etcd's option names (auth/options.go) and error texts (auth/store.go).
constexpr const char* kOptSignMethod = "sign-method";
constexpr const char* kOptPublicKey = "pub-key";
constexpr const char* kOptPrivateKey = "priv-key";
constexpr const char* kOptTtl = "ttl";
constexpr std::chrono::minutes kDefaultTtl{5};
constexpr const char* kErrInvalidAuthOpts = "auth: invalid auth options";

enum class Family { kRsa, kRsaPss, kEcdsa, kHmac };

// A JWS algorithm as golang-jwt registers it.
struct Method {
  const char* name;
  Family family;
  const EVP_MD* (*md)();
  int curve_bits;  // ECDSA: the curve the key must be on (golang-jwt's CurveBits)
};

constexpr std::array<Method, 12> kMethods = {{
    {"RS256", Family::kRsa, EVP_sha256, 0},
    {"RS384", Family::kRsa, EVP_sha384, 0},
    {"RS512", Family::kRsa, EVP_sha512, 0},
    {"PS256", Family::kRsaPss, EVP_sha256, 0},
    {"PS384", Family::kRsaPss, EVP_sha384, 0},
    {"PS512", Family::kRsaPss, EVP_sha512, 0},
    {"ES256", Family::kEcdsa, EVP_sha256, 256},
    {"ES384", Family::kEcdsa, EVP_sha384, 384},
    {"ES512", Family::kEcdsa, EVP_sha512, 521},
    {"HS256", Family::kHmac, EVP_sha256, 0},
    {"HS384", Family::kHmac, EVP_sha384, 0},
    {"HS512", Family::kHmac, EVP_sha512, 0},
}};

// ---- base64url without padding (RFC 7515 section 2), as golang-jwt ----

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string B64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kB64[(v >> 6) & 63]);
  }
  return out;
}

// golang-jwt pads the segment and decodes it with base64.URLEncoding, so
// trailing '=' padding is accepted too.
std::optional<std::string> B64UrlDecode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c == '\0' ? nullptr : std::strchr(kB64, c);
    if (p == nullptr) return std::nullopt;
    acc = (acc << 6) | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  return out;
}

// ---- keys ----

int NoPassphrase(char*, int, int, void*) { return -1; }  // never prompt on a terminal

bool LooksLikePem(std::string_view pem) { return pem.find("-----BEGIN") != std::string_view::npos; }

bool HasFamilyType(EVP_PKEY* key, Family family) {
  const int id = EVP_PKEY_get_base_id(key);
  return family == Family::kEcdsa ? id == EVP_PKEY_EC : id == EVP_PKEY_RSA;
}

std::string NotValidKeyText(Family family, bool private_key) {
  const char* kind = family == Family::kEcdsa ? "ECDSA" : "RSA";
  return std::string("key is not a valid ") + kind + (private_key ? " private key" : " public key");
}

Result<PkeyPtr> ParsePrivateKey(const std::string& pem, Family family) {
  if (!LooksLikePem(pem)) {
    return Status::InvalidArgument("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!key || !HasFamilyType(key.get(), family)) {
    return Status::InvalidArgument(NotValidKeyText(family, true));
  }
  return key;
}

// A PKIX public key, or the key of a certificate (as golang-jwt's
// Parse{RSA,EC}PublicKeyFromPEM).
Result<PkeyPtr> ParsePublicKey(const std::string& pem, Family family) {
  if (!LooksLikePem(pem)) {
    return Status::InvalidArgument("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!key) {
    BioPtr cert_bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassphrase, nullptr)
                          : nullptr);
    if (cert) key.reset(X509_get_pubkey(cert.get()));
  }
  if (!key || !HasFamilyType(key.get(), family)) {
    return Status::InvalidArgument(NotValidKeyText(family, false));
  }
  return key;
}

Status WithFile(const Status& s, const char* option, const std::string& path) {
  return Status::InvalidArgument(s.message() + " (" + option + "=" + path + ")");
}

// ---- the provider ----

class JwtTokenProvider : public TokenProvider {
 public:
  // `sign_key` may be null (verify-only). For HMAC `secret` is the key.
  JwtTokenProvider(const Method& method, PkeyPtr sign_key, PkeyPtr verify_key, std::string secret,
                   std::chrono::nanoseconds ttl)
      : method_(method),
        sign_key_(std::move(sign_key)),
        verify_key_(std::move(verify_key)),
        secret_(std::move(secret)),
        ttl_(ttl) {}

  void Enable() override {}
  void Disable() override {}
  std::string GenTokenPrefix() override { return ""; }
  void InvalidateUser(const std::string&) override {}

  Result<std::string> Assign(const std::string& user, uint64_t revision, const std::string&,
                             uint64_t) override {
    if (method_.family != Family::kHmac && !sign_key_) {
      return Status::FailedPrecondition("auth: token signing attempted with verify-only key");
    }
    const auto exp = std::chrono::floor<std::chrono::seconds>(
        (std::chrono::system_clock::now() + ttl_).time_since_epoch());
    const nlohmann::json claims = {
        {"exp", exp.count()}, {"revision", revision}, {"username", user}};
    const std::string header = std::string(R"({"alg":")") + method_.name + R"(","typ":"JWT"})";
    std::string signing_input =
        B64UrlEncode(header) + "." +
        B64UrlEncode(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    ASSIGN_OR_RETURN(std::string sig, Sign(signing_input));
    return signing_input + "." + B64UrlEncode(sig);
  }

  Result<TokenInfo> Info(std::string_view token) override {
    const size_t dot1 = token.find('.');
    const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
      return InvalidAuthTokenError();
    }
    // The claims are parsed only once the signature holds (golang-jwt parses
    // them first; the outcome is the same).
    const auto header = DecodeJsonObject(token.substr(0, dot1));
    const auto sig = B64UrlDecode(token.substr(dot2 + 1));
    if (!header || !sig) return InvalidAuthTokenError();
    const auto alg = header->find("alg");
    if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != method_.name ||
        !Verify(token.substr(0, dot2), *sig)) {
      return InvalidAuthTokenError();
    }
    const auto claims = DecodeJsonObject(token.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!claims || !ClaimsValid(*claims)) return InvalidAuthTokenError();
    const auto user = claims->find("username");
    const auto rev = claims->find("revision");
    if (user == claims->end() || !user->is_string() || rev == claims->end() || !rev->is_number() ||
        rev->get<double>() < 0) {
      return InvalidAuthTokenError();
    }
    TokenInfo info;
    info.user = user->get<std::string>();
    // golang-jwt decodes numbers as float64 and etcd converts with uint64().
    info.revision = rev->is_number_unsigned() ? rev->get<uint64_t>()
                                              : static_cast<uint64_t>(rev->get<double>());
    return info;
  }

 private:
  static std::optional<nlohmann::json> DecodeJsonObject(std::string_view segment) {
    auto raw = B64UrlDecode(segment);
    if (!raw) return std::nullopt;
    auto j = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    return j;
  }

  // golang-jwt MapClaims.Valid: exp, iat and nbf, when present as numbers
  // (0 counts as absent), against the wall clock in whole seconds.
  static bool ClaimsValid(const nlohmann::json& claims) {
    const int64_t now = std::chrono::floor<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto claim = [&](const char* name) -> int64_t {
      auto it = claims.find(name);
      if (it == claims.end() || !it->is_number()) return 0;
      const double v = it->get<double>();
      if (std::isnan(v)) return 0;
      if (v >= 9.2e18) return INT64_MAX;
      if (v <= -9.2e18) return INT64_MIN;
      return static_cast<int64_t>(v);
    };
    const int64_t exp = claim("exp"), iat = claim("iat"), nbf = claim("nbf");
    return (exp == 0 || now <= exp) && (iat == 0 || now >= iat) && (nbf == 0 || now >= nbf);
  }

  Result<std::string> Hmac(std::string_view input) const {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(method_.md(), secret_.data(), static_cast<int>(secret_.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
             &len) == nullptr) {
      return Status::Internal("jwt: HMAC failed");
    }
    return std::string(reinterpret_cast<char*>(mac), len);
  }

  // Sets the RSA-PSS padding on a DigestSign/DigestVerify context: golang-jwt
  // signs with a salt as long as the hash and verifies with any salt length.
  bool SetPadding(EVP_PKEY_CTX* pctx, bool sign) const {
    if (method_.family != Family::kRsaPss) return true;
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(
               pctx, sign ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO) == 1;
  }

  int EcKeyBytes() const { return (method_.curve_bits + 7) / 8; }

  Result<std::string> Sign(std::string_view input) const {
    if (method_.family == Family::kHmac) return Hmac(input);
    MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, method_.md(), nullptr, sign_key_.get()) != 1 ||
        !SetPadding(pctx, true) ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      return Status::Internal("jwt: signing failed");
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      return Status::Internal("jwt: signing failed");
    }
    sig.resize(len);
    if (method_.family != Family::kEcdsa) return sig;
    // OpenSSL gives DER; JWS wants R || S, each padded to the curve's size.
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    EcdsaSigPtr ec(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    if (!ec) return Status::Internal("jwt: signing failed");
    const int n = EcKeyBytes();
    std::string raw(2 * n, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(ECDSA_SIG_get0_r(ec.get()), out, n) != n ||
        BN_bn2binpad(ECDSA_SIG_get0_s(ec.get()), out + n, n) != n) {
      return Status::Internal("jwt: signing failed");
    }
    return raw;
  }

  bool Verify(std::string_view input, const std::string& sig) const {
    if (method_.family == Family::kHmac) {
      auto mac = Hmac(input);
      return mac.ok() && mac->size() == sig.size() &&
             CRYPTO_memcmp(mac->data(), sig.data(), sig.size()) == 0;
    }
    std::string der;
    if (method_.family == Family::kEcdsa) {
      const int n = EcKeyBytes();
      if (sig.size() != static_cast<size_t>(2 * n)) return false;
      const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
      EcdsaSigPtr ec(ECDSA_SIG_new());
      BIGNUM* r = BN_bin2bn(raw, n, nullptr);
      BIGNUM* s = BN_bin2bn(raw + n, n, nullptr);
      if (!ec || !r || !s || ECDSA_SIG_set0(ec.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return false;
      }
      unsigned char* buf = nullptr;
      const int len = i2d_ECDSA_SIG(ec.get(), &buf);
      if (len <= 0) return false;
      der.assign(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
      OPENSSL_free(buf);
    }
    const std::string& s = method_.family == Family::kEcdsa ? der : sig;
    MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    return ctx &&
           EVP_DigestVerifyInit(ctx.get(), &pctx, method_.md(), nullptr, verify_key_.get()) == 1 &&
           SetPadding(pctx, false) &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                            reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
  }

  const Method& method_;
  const PkeyPtr sign_key_;    // null when verify-only or HMAC
  const PkeyPtr verify_key_;  // null for HMAC
  const std::string secret_;  // HMAC only
  const std::chrono::nanoseconds ttl_;
};

std::string OptionOr(const std::map<std::string, std::string>& options, const char* name) {
  auto it = options.find(name);
  return it == options.end() ? std::string() : it->second;
}

Status InvalidAuthOpts(const std::string& cause) {
  return Status::InvalidArgument(std::string(kErrInvalidAuthOpts) + ": " + cause);
}

}  // namespace

Result<std::unique_ptr<TokenProvider>> NewJwtTokenProvider(
    const std::map<std::string, std::string>& options) {
  // In etcd's order (jwtOptions.Parse): ttl, pub-key, priv-key, sign-method;
  // any failure there is ErrInvalidAuthOpts.
  std::chrono::nanoseconds ttl = kDefaultTtl;
  if (const std::string v = OptionOr(options, kOptTtl); !v.empty()) {
    auto parsed = ParseGoDuration(v);
    if (!parsed.ok()) return InvalidAuthOpts(parsed.status().message());
    ttl = *parsed;
  }
  std::string pub_pem, priv_pem;
  const std::string pub_path = OptionOr(options, kOptPublicKey);
  const std::string priv_path = OptionOr(options, kOptPrivateKey);
  for (auto [path, pem] : {std::pair{&pub_path, &pub_pem}, std::pair{&priv_path, &priv_pem}}) {
    if (path->empty()) continue;
    auto data = ReadFile(*path);
    if (!data.ok()) return InvalidAuthOpts(data.status().message());
    *pem = std::move(*data);
  }
  const std::string name = OptionOr(options, kOptSignMethod);
  const Method* method = nullptr;
  for (const Method& m : kMethods) {
    if (name == m.name) method = &m;
  }
  if (method == nullptr) {
    // golang-jwt knows these two, and etcd's jwtOptions.Key refuses them.
    if (name == "none") {
      return Status::InvalidArgument("unsupported signing method: *jwt.signingMethodNone");
    }
    if (name == "EdDSA") {
      return Status::InvalidArgument("unsupported signing method: *jwt.SigningMethodEd25519");
    }
    return InvalidAuthOpts("auth: invalid auth signature method");
  }

  if (method->family == Family::kHmac) {
    if (priv_pem.empty()) return Status::InvalidArgument("auth: missing key data");
    return std::unique_ptr<TokenProvider>(
        new JwtTokenProvider(*method, nullptr, nullptr, std::move(priv_pem), ttl));
  }
  PkeyPtr priv, pub;
  if (!priv_pem.empty()) {
    auto key = ParsePrivateKey(priv_pem, method->family);
    if (!key.ok()) return WithFile(key.status(), kOptPrivateKey, priv_path);
    priv = std::move(*key);
  }
  if (!pub_pem.empty()) {
    auto key = ParsePublicKey(pub_pem, method->family);
    if (!key.ok()) return WithFile(key.status(), kOptPublicKey, pub_path);
    pub = std::move(*key);
  }
  if (!priv && !pub) return Status::InvalidArgument("auth: missing key data");
  if (priv && pub && EVP_PKEY_eq(priv.get(), pub.get()) != 1) {
    return Status::InvalidArgument("auth: public and private keys don't match");
  }
  if (method->family == Family::kEcdsa) {
    EVP_PKEY* key = priv ? priv.get() : pub.get();
    if (EVP_PKEY_get_bits(key) != method->curve_bits) {
      return WithFile(Status::InvalidArgument("key is invalid"),
                      priv ? kOptPrivateKey : kOptPublicKey, priv ? priv_path : pub_path);
    }
  }
  // A private key also verifies: EVP_PKEY holds its public half.
  PkeyPtr verify;
  if (priv) {
    EVP_PKEY_up_ref(priv.get());
    verify.reset(priv.get());
  } else {
    verify = std::move(pub);
  }
  return std::unique_ptr<TokenProvider>(
      new JwtTokenProvider(*method, std::move(priv), std::move(verify), std::string(), ttl));
}

}  // namespace etcdd::auth
