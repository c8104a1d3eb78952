#include "backup/encryption.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <memory>

#include "base/file.h"

namespace etcdd::backup {

namespace {

constexpr uint32_t kMinChunk = 1024;
constexpr uint32_t kMaxChunk = 16 * 1024 * 1024;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint32_t GetU32(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

// The chunk's nonce: the base nonce with the chunk index (big-endian) XORed
// into its last 8 bytes.
std::array<uint8_t, kNonceSize> ChunkNonce(std::string_view header, uint64_t index) {
  std::array<uint8_t, kNonceSize> nonce{};
  for (size_t i = 0; i < kNonceSize; ++i) nonce[i] = static_cast<uint8_t>(header[12 + i]);
  for (int i = 0; i < 8; ++i) nonce[kNonceSize - 1 - i] ^= static_cast<uint8_t>(index >> (8 * i));
  return nonce;
}

// Additional data: the whole header, the chunk index, the final flag.
std::string ChunkAad(std::string_view header, uint64_t index, bool final) {
  std::string aad(header);
  PutU64(&aad, index);
  aad.push_back(final ? 1 : 0);
  return aad;
}

// AES-256-GCM of one chunk; with `encrypt` false, `in` ends with the tag and
// a failed check returns false. `out` receives ciphertext+tag or plaintext.
bool Gcm(bool encrypt, const EncryptionKey& key, const std::array<uint8_t, kNonceSize>& nonce,
         const std::string& aad, std::string_view in, std::string* out) {
  if (!encrypt && in.size() < kTagSize) return false;
  std::string_view body = encrypt ? in : in.substr(0, in.size() - kTagSize);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data(),
                        encrypt ? 1 : 0) != 1) {
    return false;
  }
  int n = 0;
  out->resize(body.size() + kTagSize);
  auto* o = reinterpret_cast<unsigned char*>(out->data());
  if (EVP_CipherUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) != 1 ||
      EVP_CipherUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(body.data()),
                       static_cast<int>(body.size())) != 1) {
    return false;
  }
  if (!encrypt) {
    void* tag = const_cast<char*>(in.data() + body.size());
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) return false;
  }
  int tail = 0;
  if (EVP_CipherFinal_ex(ctx.get(), o + n, &tail) != 1) return false;
  if (encrypt) {
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, o + body.size()) != 1) {
      return false;
    }
  } else {
    out->resize(body.size());
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<EncryptionKey> ParseEncryptionKey(std::string_view contents, const std::string& path) {
  EncryptionKey key{};
  if (contents.size() == key.size()) {
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(contents[i]);
    return key;
  }
  std::string_view hex = contents;
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  bool ok = hex.size() == 2 * key.size();
  for (size_t i = 0; ok && i < key.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    key[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  if (!ok) {
    return Status::InvalidArgument("encryption key file " + path +
                                   ": must hold 32 raw bytes or 64 hex digits (it has " +
                                   std::to_string(contents.size()) + " bytes)");
  }
  return key;
}

Result<EncryptionKey> LoadEncryptionKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  return ParseEncryptionKey(contents, path);
}

Encryptor::Encryptor(const EncryptionKey& key, ByteSink sink, uint32_t chunk_size)
    : key_(key), sink_(std::move(sink)), chunk_size_(chunk_size) {}

Encryptor::~Encryptor() { key_.fill(0); }

Result<std::unique_ptr<Encryptor>> Encryptor::Start(const EncryptionKey& key, ByteSink sink,
                                                    uint32_t chunk_size) {
  if (chunk_size < kMinChunk || chunk_size > kMaxChunk) {
    return Status::InvalidArgument("encryption chunk size out of range");
  }
  std::unique_ptr<Encryptor> e(new Encryptor(key, std::move(sink), chunk_size));
  e->header_.assign(kEncryptedMagic);
  PutU32(&e->header_, chunk_size);
  std::array<uint8_t, kNonceSize> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    return Status::Internal("no random bytes for the encryption nonce");
  }
  e->header_.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  RETURN_IF_ERROR(e->sink_(e->header_));
  return e;
}

Status Encryptor::SealChunk(std::string_view plaintext, bool final) {
  std::string sealed;
  if (!Gcm(true, key_, ChunkNonce(header_, index_), ChunkAad(header_, index_, final), plaintext,
           &sealed)) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  ++index_;
  return sink_(sealed);
}

Status Encryptor::Write(std::string_view plaintext) {
  pending_.append(plaintext);
  // A full chunk is sealed as non-final only once more bytes follow it.
  size_t used = 0;
  while (pending_.size() - used > chunk_size_) {
    RETURN_IF_ERROR(SealChunk(std::string_view(pending_).substr(used, chunk_size_), false));
    used += chunk_size_;
  }
  pending_.erase(0, used);
  return Status::Ok();
}

Status Encryptor::Finish() {
  Status st = SealChunk(pending_, true);
  pending_.clear();
  return st;
}

Decryptor::Decryptor(const EncryptionKey& key, ByteSource source, std::string where)
    : key_(key), source_(std::move(source)), where_(std::move(where)) {}

Status Decryptor::Fill(size_t want) {
  while (!eof_ && buffer_.size() < want) {
    size_t have = buffer_.size();
    buffer_.resize(want);
    ASSIGN_OR_RETURN(size_t n, source_(buffer_.data() + have, want - have));
    buffer_.resize(have + n);
    if (n == 0) eof_ = true;
  }
  return Status::Ok();
}

Result<std::unique_ptr<Decryptor>> Decryptor::Open(const EncryptionKey& key, ByteSource source,
                                                   std::string where) {
  std::unique_ptr<Decryptor> d(new Decryptor(key, std::move(source), std::move(where)));
  RETURN_IF_ERROR(d->Fill(kEnvelopeHeaderSize));
  if (d->buffer_.substr(0, kEncryptedMagic.size()) != kEncryptedMagic) {
    return Status::InvalidArgument(d->where_ + " is not an encrypted kvbackup file");
  }
  if (d->buffer_.size() < kEnvelopeHeaderSize) {
    return Status(Code::kDataLoss, "wrong key or corrupt file (" + d->where_ + ")");
  }
  d->header_ = d->buffer_.substr(0, kEnvelopeHeaderSize);
  d->buffer_.erase(0, kEnvelopeHeaderSize);
  d->chunk_size_ = GetU32(std::string_view(d->header_).substr(8, 4));
  if (d->chunk_size_ < kMinChunk || d->chunk_size_ > kMaxChunk) {
    return Status(Code::kDataLoss, "wrong key or corrupt file (" + d->where_ + ")");
  }
  return d;
}

Result<std::string_view> Decryptor::Next() {
  if (done_) return std::string_view();
  const size_t sealed = chunk_size_ + kTagSize;
  // One byte beyond a full chunk tells whether it is the last one.
  RETURN_IF_ERROR(Fill(sealed + 1));
  const bool final = buffer_.size() <= sealed;
  const size_t take = final ? buffer_.size() : sealed;
  if (!Gcm(false, key_, ChunkNonce(header_, index_), ChunkAad(header_, index_, final),
           std::string_view(buffer_).substr(0, take), &plain_)) {
    return Status(Code::kDataLoss, "wrong key or corrupt file (" + where_ + ")");
  }
  buffer_.erase(0, take);
  ++index_;
  done_ = final;
  if (final && plain_.empty()) return std::string_view();
  return std::string_view(plain_);
}

}  // namespace etcdd::backup
