// SHA-256 through OpenSSL's EVP interface, for the digests of snapshot files
// (etcd's snapshot trailer, kvbackup's manifests).
//
// Thread-safety: none; one object per stream.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace etcdd {

inline constexpr size_t kSha256Size = 32;

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // The digest of what Update was given so far; the stream goes on (so one
  // pass gives the digest of a prefix and of the whole).
  std::array<uint8_t, kSha256Size> Peek() const;
  // The digest of everything Update was given; the object is spent after it.
  std::array<uint8_t, kSha256Size> Final();

 private:
  evp_md_ctx_st* ctx_;
};

// 64 lower-case hex digits.
std::string HexDigest(const std::array<uint8_t, kSha256Size>& digest);

}  // namespace etcdd
