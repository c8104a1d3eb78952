#include "auth/token_jwt.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "base/file.h"
#include "base/go_text.h"

namespace etcdd::auth {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using JwtPtr = std::unique_ptr<jwt_t, Deleter<jwt_t, jwt_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
// Strings libjwt allocates (jwt_encode_str, jwt_get_grants_json).
struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using CStringPtr = std::unique_ptr<char, FreeDeleter>;

// etcd's option names (auth/options.go) and error texts (auth/store.go).
constexpr const char* kOptSignMethod = "sign-method";
constexpr const char* kOptPublicKey = "pub-key";
constexpr const char* kOptPrivateKey = "priv-key";
constexpr const char* kOptTtl = "ttl";
constexpr std::chrono::minutes kDefaultTtl{5};
constexpr const char* kErrInvalidAuthOpts = "auth: invalid auth options";

// libjwt 1.10 decodes each segment of a token into a stack buffer (alloca) as
// long as the token, so a token from a client is bounded before it gets
// there. etcd's tokens are well under 1 KiB, and gRPC refuses metadata over
// 16 KiB anyway.
constexpr size_t kMaxTokenBytes = 64 * 1024;

enum class Family { kRsa, kEcdsa, kHmac };

// A JWS algorithm etcd accepts and libjwt 1.10 implements.
struct Method {
  const char* name;
  jwt_alg_t alg;
  Family family;
  int curve_bits;  // ECDSA: the curve the key must be on (golang-jwt's CurveBits)
};

constexpr std::array<Method, 9> kMethods = {{
    {"RS256", JWT_ALG_RS256, Family::kRsa, 0},
    {"RS384", JWT_ALG_RS384, Family::kRsa, 0},
    {"RS512", JWT_ALG_RS512, Family::kRsa, 0},
    {"ES256", JWT_ALG_ES256, Family::kEcdsa, 256},
    {"ES384", JWT_ALG_ES384, Family::kEcdsa, 384},
    {"ES512", JWT_ALG_ES512, Family::kEcdsa, 521},
    {"HS256", JWT_ALG_HS256, Family::kHmac, 0},
    {"HS384", JWT_ALG_HS384, Family::kHmac, 0},
    {"HS512", JWT_ALG_HS512, Family::kHmac, 0},
}};

// etcd accepts these (RSASSA-PSS); libjwt 1.10 has no implementation of them.
constexpr std::array<const char*, 3> kPssMethods = {"PS256", "PS384", "PS512"};

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// ---- keys (OpenSSL: reading and checking PEM files only) ----

int NoPassphrase(char*, int, int, void*) { return -1; }  // never prompt on a terminal

bool LooksLikePem(std::string_view pem) { return pem.find("-----BEGIN") != std::string_view::npos; }

std::string NotValidKeyText(Family family, bool private_key) {
  const char* kind = family == Family::kEcdsa ? "ECDSA" : "RSA";
  return std::string("key is not a valid ") + kind + (private_key ? " private key" : " public key");
}

// The key's type and, for ECDSA, curve against the method, with golang-jwt's
// texts. libjwt would only fail every token later.
Status CheckKeyFits(EVP_PKEY* key, const Method& method, bool private_key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id != (method.family == Family::kEcdsa ? EVP_PKEY_EC : EVP_PKEY_RSA)) {
    return Status::InvalidArgument(NotValidKeyText(method.family, private_key));
  }
  // libjwt signs with whatever curve the key is on; golang-jwt (etcd) refuses
  // a signature of another size than the method's.
  if (method.family == Family::kEcdsa && EVP_PKEY_get_bits(key) != method.curve_bits) {
    return Status::InvalidArgument("key is invalid");
  }
  return Status::Ok();
}

// The SubjectPublicKeyInfo PEM of `key`: what libjwt 1.10 verifies with
// (PEM_read_bio_PUBKEY).
Result<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return Status::Internal("jwt: cannot encode the public key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// The public half of a PKCS#1, SEC1 or PKCS#8 private key, as PEM. An
// encrypted key is refused rather than prompted for (libjwt would ask on the
// terminal at every token).
Result<std::string> PublicHalfOfPrivateKey(const std::string& pem, const Method& method) {
  if (!LooksLikePem(pem)) {
    return Status::InvalidArgument("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!key) return Status::InvalidArgument(NotValidKeyText(method.family, true));
  RETURN_IF_ERROR(CheckKeyFits(key.get(), method, true));
  return PublicKeyPem(key.get());
}

// A PKIX public key, or the key of a certificate (as golang-jwt's
// Parse{RSA,EC}PublicKeyFromPEM), as PKIX PEM: libjwt reads no certificate.
Result<std::string> PublicKeyOf(const std::string& pem, const Method& method) {
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
  if (!key) return Status::InvalidArgument(NotValidKeyText(method.family, false));
  RETURN_IF_ERROR(CheckKeyFits(key.get(), method, false));
  return PublicKeyPem(key.get());
}

Status WithFile(const Status& s, const char* option, const std::string& path) {
  return Status::InvalidArgument(s.message() + " (" + option + "=" + path + ")");
}

// ---- tokens (libjwt) ----

// Signs etcd's claims (auth/jwt.go assign) with `key`: the private key PEM,
// or the HMAC secret. libjwt writes both JSON objects compact with sorted
// keys, as golang-jwt does for etcd: {"alg":"RS256","typ":"JWT"} and
// {"exp":...,"revision":...,"username":"..."}.
Result<std::string> SignToken(const Method& method, const std::string& key, const std::string& user,
                              long revision, long exp) {
  if (user.find('\0') != std::string::npos) {
    return Status::InvalidArgument("jwt: a user name with a NUL byte cannot go in a token");
  }
  jwt_t* raw = nullptr;
  if (const int err = jwt_new(&raw); err != 0) {
    return Status::Internal("jwt: jwt_new: " + ErrnoText(err));
  }
  JwtPtr jwt(raw);
  // jansson (under libjwt) takes only valid UTF-8 strings.
  if (jwt_add_grant(jwt.get(), "username", user.c_str()) != 0) {
    return Status::InvalidArgument("jwt: the user name is not valid UTF-8");
  }
  int err = jwt_add_grant_int(jwt.get(), "revision", revision);
  if (err == 0) err = jwt_add_grant_int(jwt.get(), "exp", exp);
  if (err == 0) {
    err = jwt_set_alg(jwt.get(), method.alg, reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size()));
  }
  if (err != 0) return Status::Internal("jwt: building the token: " + ErrnoText(err));
  CStringPtr token(jwt_encode_str(jwt.get()));
  if (!token) return Status::Internal(std::string("jwt: signing failed: ") + ErrnoText(errno));
  return std::string(token.get());
}

// Three non-empty base64url segments. libjwt 1.10 splits at the first two dots
// and decodes a segment only up to its first character outside the alphabet,
// so without this a signature with anything appended would still verify.
// golang-jwt accepts '=' padding at the end of a segment.
bool IsCompactJws(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return false;
  int segments = 0;
  for (size_t start = 0;; ++segments) {
    const size_t dot = std::min(token.find('.', start), token.size());
    std::string_view seg = token.substr(start, dot - start);
    const size_t unpadded = seg.find_last_not_of('=');
    if (unpadded == std::string_view::npos || seg.size() - unpadded > 3) return false;
    seg = seg.substr(0, unpadded + 1);
    for (char c : seg) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) return false;
    }
    if (dot == token.size()) return segments == 2;
    start = dot + 1;
  }
}

// The token decoded by libjwt with its signature checked by `key` (public key
// PEM or HMAC secret), and signed with `method`. libjwt verifies with the alg
// the token's header names, so an HS256 token keyed with the bytes of an RSA
// public key PEM passes jwt_decode; checking the alg afterwards is what
// refuses it (golang-jwt's keyfunc check in etcd's info). alg "none" fails in
// jwt_decode whenever a key is given.
std::optional<JwtPtr> VerifiedToken(const Method& method, const std::string& key,
                                    std::string_view token) {
  if (!IsCompactJws(token)) return std::nullopt;
  const std::string text(token);
  jwt_t* raw = nullptr;
  const int err = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                             static_cast<int>(key.size()));
  JwtPtr jwt(raw);
  if (err != 0 || !jwt || jwt_get_alg(jwt.get()) != method.alg) return std::nullopt;
  return jwt;
}

// The claim `name` as JSON. libjwt 1.10 reads only strings and integers by
// type (and a non-integer as 0); golang-jwt reads any JSON number as float64.
std::optional<nlohmann::json> Claim(jwt_t* jwt, const char* name) {
  CStringPtr text(jwt_get_grants_json(jwt, name));
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(text.get(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// golang-jwt MapClaims.Valid (libjwt 1.10 checks no claim): exp, iat and nbf,
// when present as numbers (0 counts as absent), against the wall clock in
// whole seconds.
bool TimeClaimsValid(jwt_t* jwt) {
  const int64_t now =
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto seconds = [&](const char* name) -> int64_t {
    const auto claim = Claim(jwt, name);
    if (!claim || !claim->is_number()) return 0;
    const double v = claim->get<double>();
    if (std::isnan(v)) return 0;
    if (v >= 9.2e18) return INT64_MAX;
    if (v <= -9.2e18) return INT64_MIN;
    return static_cast<int64_t>(v);
  };
  const int64_t exp = seconds("exp"), iat = seconds("iat"), nbf = seconds("nbf");
  return (exp == 0 || now <= exp) && (iat == 0 || now >= iat) && (nbf == 0 || now >= nbf);
}

// ---- the provider ----

class JwtTokenProvider : public TokenProvider {
 public:
  // `sign_key`: private key PEM or HMAC secret, empty when verify-only.
  // `verify_key`: public key PKIX PEM or HMAC secret.
  JwtTokenProvider(const Method& method, std::string sign_key, std::string verify_key,
                   std::chrono::nanoseconds ttl)
      : method_(method),
        sign_key_(std::move(sign_key)),
        verify_key_(std::move(verify_key)),
        ttl_(ttl) {}

  void Enable() override {}
  void Disable() override {}
  std::string GenTokenPrefix() override { return ""; }
  void InvalidateUser(const std::string&) override {}

  Result<std::string> Assign(const std::string& user, uint64_t revision, const std::string&,
                             uint64_t) override {
    if (sign_key_.empty()) {
      return Status::FailedPrecondition("auth: token signing attempted with verify-only key");
    }
    if (revision > static_cast<uint64_t>(LONG_MAX)) {
      return Status::Internal("jwt: auth revision out of range");
    }
    const auto exp = std::chrono::floor<std::chrono::seconds>(
        (std::chrono::system_clock::now() + ttl_).time_since_epoch());
    return SignToken(method_, sign_key_, user, static_cast<long>(revision),
                     static_cast<long>(exp.count()));
  }

  Result<TokenInfo> Info(std::string_view token) override {
    const auto jwt = VerifiedToken(method_, verify_key_, token);
    if (!jwt || !TimeClaimsValid(jwt->get())) return InvalidAuthTokenError();
    // etcd's info: claims["username"].(string), claims["revision"].(float64).
    const auto user = Claim(jwt->get(), "username");
    const auto rev = Claim(jwt->get(), "revision");
    if (!user || !user->is_string() || !rev || !rev->is_number() || rev->get<double>() < 0) {
      return InvalidAuthTokenError();
    }
    TokenInfo info;
    info.user = user->get<std::string>();
    // etcd converts the float64 with uint64().
    info.revision = rev->is_number_unsigned() ? rev->get<uint64_t>()
                                              : static_cast<uint64_t>(rev->get<double>());
    return info;
  }

 private:
  const Method& method_;
  const std::string sign_key_;
  const std::string verify_key_;
  const std::chrono::nanoseconds ttl_;
};

std::string OptionOr(const std::map<std::string, std::string>& options, const char* name) {
  auto it = options.find(name);
  return it == options.end() ? std::string() : it->second;
}

Status InvalidAuthOpts(const std::string& cause) {
  return Status::InvalidArgument(std::string(kErrInvalidAuthOpts) + ": " + cause);
}

// The method named by sign-method, with etcd's errors (and ours for PS*).
Result<const Method*> FindMethod(const std::string& name) {
  for (const Method& m : kMethods) {
    if (name == m.name) return &m;
  }
  for (const char* pss : kPssMethods) {
    if (name == pss) {
      return Status::InvalidArgument("auth: invalid auth signature method: " + name +
                                     " is not supported by this build (libjwt 1.10); use RS256, "
                                     "RS384 or RS512");
    }
  }
  // golang-jwt knows these two, and etcd's jwtOptions.Key refuses them.
  if (name == "none") {
    return Status::InvalidArgument("unsupported signing method: *jwt.signingMethodNone");
  }
  if (name == "EdDSA") {
    return Status::InvalidArgument("unsupported signing method: *jwt.SigningMethodEd25519");
  }
  return InvalidAuthOpts("auth: invalid auth signature method");
}

// Signs a token with `sign_key` and verifies it with `verify_key`, both
// through libjwt as every later token will be: refuses a key pair that does
// not match, or any key libjwt cannot use.
Status ProbeKeys(const Method& method, const std::string& sign_key, const std::string& verify_key,
                 bool pub_key_given) {
  ASSIGN_OR_RETURN(const std::string token, SignToken(method, sign_key, "probe", 0, 0));
  if (VerifiedToken(method, verify_key, token)) return Status::Ok();
  if (pub_key_given) return Status::InvalidArgument("auth: public and private keys don't match");
  return Status::Internal("jwt: a token signed with the key does not verify with it");
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
  ASSIGN_OR_RETURN(const Method* method, FindMethod(OptionOr(options, kOptSignMethod)));

  std::string sign_key, verify_key;
  if (method->family == Family::kHmac) {
    if (priv_pem.empty()) return Status::InvalidArgument("auth: missing key data");
    sign_key = verify_key = std::move(priv_pem);
  } else {
    if (priv_pem.empty() && pub_pem.empty()) {
      return Status::InvalidArgument("auth: missing key data");
    }
    if (!priv_pem.empty()) {
      auto pub = PublicHalfOfPrivateKey(priv_pem, *method);
      if (!pub.ok()) return WithFile(pub.status(), kOptPrivateKey, priv_path);
      sign_key = std::move(priv_pem);
      verify_key = std::move(*pub);  // a private key alone also verifies (etcd)
    }
    if (!pub_pem.empty()) {
      auto pub = PublicKeyOf(pub_pem, *method);
      if (!pub.ok()) return WithFile(pub.status(), kOptPublicKey, pub_path);
      verify_key = std::move(*pub);
    }
  }
  if (!sign_key.empty()) {
    const bool pair_given = method->family != Family::kHmac && !pub_pem.empty();
    RETURN_IF_ERROR(ProbeKeys(*method, sign_key, verify_key, pair_given));
  }
  return std::unique_ptr<TokenProvider>(
      new JwtTokenProvider(*method, std::move(sign_key), std::move(verify_key), ttl));
}

}  // namespace etcdd::auth
