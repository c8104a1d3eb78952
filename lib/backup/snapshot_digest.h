// The check of an etcd snapshot's SHA-256 trailer (SHA-256 itself is
// base/sha256.h).
//
// etcd's Maintenance.Snapshot streams the backend's bbolt file, then one
// more message holding the SHA-256 of everything before it; `etcdctl snapshot
// save` writes all of it, so a saved snapshot is the bbolt file followed by
// its 32-byte digest (the file size modulo 512 is 32, which is how etcd's
// restore tells that a digest is there). TrailerCheck verifies that trailer
// over a byte stream fed in pieces of any size: message boundaries carry no
// meaning, which keeps it right for etcd and etcdd alike.
//
// Thread-safety: none; one object per stream.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/sha256.h"
#include "base/status.h"

namespace etcdd::backup {

// Feeds a snapshot stream (bbolt bytes then their SHA-256) and checks the
// trailer at the end.
class TrailerCheck {
 public:
  // Adds the next bytes of the stream.
  void Update(std::string_view data);
  // Bytes fed so far, trailer included.
  uint64_t bytes() const { return bytes_; }
  // Checks that the last 32 bytes are the SHA-256 of the bytes before them.
  // Errors: DataLoss "snapshot stream too short for a sha256 trailer"
  // (fewer than 33 bytes) or "sha256 mismatch: the snapshot is corrupt or
  // incomplete". Call once, after the last Update.
  Status Finish();
  // The SHA-256 of the whole stream (trailer included), hex; valid after a
  // successful Finish.
  const std::string& whole_sha256() const { return whole_hex_; }

 private:
  Sha256 body_;       // all bytes but the last 32 seen so far
  Sha256 whole_;      // every byte
  std::string tail_;  // the last (up to) 32 bytes seen
  uint64_t bytes_ = 0;
  std::string whole_hex_;
};

}  // namespace etcdd::backup
