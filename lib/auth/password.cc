#include "auth/password.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

namespace etcdd::auth {
namespace {

// crypt_r's scratch area is ~32 KiB: on the heap, zeroed as crypt_r requires.
std::unique_ptr<crypt_data> NewCryptData() { return std::make_unique<crypt_data>(); }

bool IsBcryptHash(std::string_view hash) {
  return hash.size() > 4 && hash[0] == '$' && hash[1] == '2' &&
         (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$';
}

}  // namespace

Status ValidateBcryptCost(int cost) {
  if (cost >= kMinBcryptCost && cost <= kMaxBcryptCost) return Status::Ok();
  return Status::InvalidArgument("crypto/bcrypt: cost " + std::to_string(cost) +
                                 " is outside allowed range (" + std::to_string(kMinBcryptCost) +
                                 "," + std::to_string(kMaxBcryptCost) + ")");
}

Result<std::string> HashPassword(std::string_view password, int cost) {
  RETURN_IF_ERROR(ValidateBcryptCost(cost));
  if (password.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("password contains a NUL byte");
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // NULL random bytes: libxcrypt reads the salt from the OS CSPRNG (getrandom).
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                       sizeof(setting)) == nullptr) {
    return Status::Internal(std::string("bcrypt: crypt_gensalt_rn failed: ") + strerror(errno));
  }
  auto data = NewCryptData();
  const std::string phrase(password);
  const char* out = crypt_r(phrase.c_str(), setting, data.get());
  if (out == nullptr || out[0] == '*') {
    return Status::Internal(std::string("bcrypt: crypt_r failed: ") + strerror(errno));
  }
  std::string hash(out);
  explicit_bzero(data.get(), sizeof(crypt_data));
  return hash;
}

bool CheckPassword(std::string_view hash, std::string_view password) {
  if (!IsBcryptHash(hash) || password.find('\0') != std::string_view::npos ||
      hash.find('\0') != std::string_view::npos) {
    return false;
  }
  auto data = NewCryptData();
  const std::string phrase(password);
  const std::string setting(hash);
  const char* out = crypt_r(phrase.c_str(), setting.c_str(), data.get());
  // A failure token starts with '*', which no bcrypt hash does, so it never
  // compares equal.
  const bool match = out != nullptr && std::strlen(out) == hash.size() &&
                     CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  explicit_bzero(data.get(), sizeof(crypt_data));
  return match;
}

}  // namespace etcdd::auth
