#include "base/sha256.h"

#include <openssl/evp.h>

#include "base/go_text.h"

namespace etcdd {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::array<uint8_t, kSha256Size> Sha256::Final() {
  std::array<uint8_t, kSha256Size> out{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &n);
  return out;
}

std::array<uint8_t, kSha256Size> Sha256::Peek() const {
  std::array<uint8_t, kSha256Size> out{};
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned int n = 0;
  EVP_MD_CTX_copy_ex(copy, ctx_);
  EVP_DigestFinal_ex(copy, out.data(), &n);
  EVP_MD_CTX_free(copy);
  return out;
}

std::string HexDigest(const std::array<uint8_t, kSha256Size>& digest) {
  return HexBytes(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace etcdd
