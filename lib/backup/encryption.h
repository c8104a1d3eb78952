// Encrypted backups: AES-256-GCM over a byte stream in independently
// authenticated chunks, so that memory stays bounded however large the
// archive is, and so that truncating, reordering or altering any chunk is
// detected. The envelope is described in FORMAT.md ("Encrypted archives").
//
// Any authentication failure (wrong key, flipped bit, truncated file) is
// reported the same way: DataLoss "wrong key or corrupt file (<path>)"; a
// wrong key cannot be told from damage without extra key-check material,
// which the envelope deliberately does not carry.
//
// Thread-safety: none; one Encryptor or Decryptor per stream.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd::backup {

inline constexpr std::string_view kEncryptedMagic = "KVBKENC1";
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
// magic, chunk size (u32 big-endian), base nonce.
inline constexpr size_t kEnvelopeHeaderSize = 8 + 4 + kNonceSize;
inline constexpr uint32_t kDefaultChunkSize = 64 * 1024;

using EncryptionKey = std::array<uint8_t, 32>;

// Parses the contents of a key file: exactly 32 raw bytes, or 64 hex digits
// optionally followed by whitespace (a trailing newline). Errors:
// InvalidArgument "encryption key file <path>: must hold 32 raw bytes or 64
// hex digits (it has <n> bytes)".
Result<EncryptionKey> ParseEncryptionKey(std::string_view contents, const std::string& path);

// Reads and parses a key file. Errors: as ParseEncryptionKey; NotFound or
// IOError when it cannot be read.
Result<EncryptionKey> LoadEncryptionKey(const std::string& path);

// Receives the bytes of the envelope in order.
using ByteSink = std::function<Status(std::string_view)>;

// Turns plaintext into an envelope written to a ByteSink.
class Encryptor {
 public:
  // Writes the envelope header (with a fresh random nonce) to `sink`.
  // `chunk_size` is the plaintext bytes per chunk (1 KiB to 16 MiB).
  // Errors: the sink's, Internal when OpenSSL fails.
  static Result<std::unique_ptr<Encryptor>> Start(const EncryptionKey& key, ByteSink sink,
                                                  uint32_t chunk_size = kDefaultChunkSize);
  ~Encryptor();

  // Encrypts the next plaintext bytes; whole chunks go to the sink.
  Status Write(std::string_view plaintext);
  // Writes the final chunk (possibly empty). Call once; nothing after.
  Status Finish();

 private:
  Encryptor(const EncryptionKey& key, ByteSink sink, uint32_t chunk_size);
  Status SealChunk(std::string_view plaintext, bool final);

  EncryptionKey key_;
  ByteSink sink_;
  uint32_t chunk_size_;
  std::string header_;
  std::string pending_;
  uint64_t index_ = 0;
};

// Reads up to `n` bytes into `buf`; returns how many (0 only at the end).
using ByteSource = std::function<Result<size_t>(char* buf, size_t n)>;

// Turns an envelope read from a ByteSource back into plaintext, checking
// every chunk before returning any of its bytes.
class Decryptor {
 public:
  // Reads and checks the header. `where` names the file in errors.
  // Errors: InvalidArgument "<where> is not an encrypted kvbackup file" (no
  // magic), DataLoss "wrong key or corrupt file (<where>)" for a header that
  // is cut short or has a chunk size out of range, the source's errors.
  static Result<std::unique_ptr<Decryptor>> Open(const EncryptionKey& key, ByteSource source,
                                                 std::string where);

  // The next chunk's plaintext; empty once the final chunk was returned.
  // The view is valid until the next call. Errors: DataLoss "wrong key or
  // corrupt file (<where>)" for any chunk that fails authentication,
  // including a file that ends before its final chunk; the source's errors.
  Result<std::string_view> Next();

 private:
  Decryptor(const EncryptionKey& key, ByteSource source, std::string where);
  Status Fill(size_t want);

  EncryptionKey key_;
  ByteSource source_;
  std::string where_;
  std::string header_;
  uint32_t chunk_size_ = 0;
  std::string buffer_;  // ciphertext read ahead
  std::string plain_;
  uint64_t index_ = 0;
  bool eof_ = false;   // the source is exhausted
  bool done_ = false;  // the final chunk was returned
};

}  // namespace etcdd::backup
